/**
 * After Generate, the result stage must be on screen: with Advanced open the form is taller
 * than the window, so the button sits below the stage (desktop) or above it (phone). On a
 * phone the top bar sticks over the page, so "on screen" means below it.
 */

/** The bottom of the sticky top bar when there is one (narrow screens), else 0. */
function topBarBottom(): number {
  const bar = document.querySelector('.sidebar');
  if (!bar || getComputedStyle(bar).position !== 'sticky') return 0;
  const r = bar.getBoundingClientRect();
  // The desktop sidebar is sticky too, but beside the page, not over it.
  return r.width >= window.innerWidth * 0.9 ? Math.max(0, r.bottom) : 0;
}

/**
 * Scrolls `stage` to the top of the view unless it is wholly in view already. Beside the form
 * the stage is sticky; scrolling by its offset also frees it when the end of the form pushed
 * it up.
 */
export function revealStage(stage: HTMLElement | null): void {
  if (!stage) return;
  const gap = 12;
  const top = topBarBottom() + gap;
  const r = stage.getBoundingClientRect();
  if (r.top >= top - 1 && r.bottom <= window.innerHeight + 1) return;
  const smooth = !window.matchMedia('(prefers-reduced-motion: reduce)').matches;
  window.scrollTo({ top: window.scrollY + r.top - top, behavior: smooth ? 'smooth' : 'auto' });
}
