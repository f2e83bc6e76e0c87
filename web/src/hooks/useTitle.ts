import { useEffect } from 'react';

/** Sets the document title: "<page> · Lakeray". */
export function useTitle(title: string): void {
  useEffect(() => {
    document.title = title ? `${title} · Lakeray` : 'Lakeray';
  }, [title]);
}
