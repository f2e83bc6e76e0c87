/**
 * Reads the Dockerfile and .dockerignore the way `docker build` does, for the tests that check
 * them without Docker: instructions (with `\` continuations joined) grouped by stage.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from './render.ts';

export interface Instruction {
  op: string;
  args: string;
}
export interface Stage {
  name: string;
  from: string;
  instructions: Instruction[];
}

export function readDockerfile(path = join(REPO, 'Dockerfile')): Stage[] {
  const lines = readFileSync(path, 'utf8')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  const stages: Stage[] = [];
  for (const line of lines) {
    const [, op, args] = /^(\S+)\s+(.*)$/.exec(line)!;
    const upper = op!.toUpperCase();
    if (upper === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args!)!;
      stages.push({ name: m[2] ?? String(stages.length), from: m[1]!, instructions: [] });
    } else if (stages.length > 0) stages.at(-1)!.instructions.push({ op: upper, args: args! });
  }
  return stages;
}

/** `COPY [--from=x] [--chown=…] src… dest` → its parts. */
export function copyParts(args: string): { from: string | null; sources: string[]; dest: string } {
  const words = args.split(/\s+/);
  const flags = words.filter((w) => w.startsWith('--'));
  const paths = words.filter((w) => !w.startsWith('--'));
  const from = flags.find((f) => f.startsWith('--from='))?.slice('--from='.length) ?? null;
  return { from, sources: paths.slice(0, -1), dest: paths.at(-1)! };
}

/** The JSON (exec) form of ENTRYPOINT or CMD. */
export const execForm = (stage: Stage, op: 'ENTRYPOINT' | 'CMD'): string[] => JSON.parse(stage.instructions.filter((i) => i.op === op).at(-1)!.args) as string[];

/** .dockerignore: literal paths, and `**\/name` for a name at any depth (the file says it uses no other form). */
export function dockerIgnored(path: string, patterns: string[]): boolean {
  const parts = path.split('/');
  return patterns.some((p) => {
    if (p.startsWith('**/')) {
      const tail = p.slice(3);
      if (tail.startsWith('*.')) return parts.some((s) => s.endsWith(tail.slice(1)));
      return parts.includes(tail);
    }
    return path === p || path.startsWith(`${p}/`);
  });
}

export const readDockerignore = (): string[] =>
  readFileSync(join(REPO, '.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
