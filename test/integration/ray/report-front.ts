/**
 * The platform's reports route and hub (the real ones) for tests that drive the Ray executor
 * directly, without an engine: the route's task lookup answers from the tasks the test made,
 * each running at its own attempt. A Ray job on the test's head reports here over HTTP.
 */
import { randomBytes } from 'node:crypto';
import Fastify from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { registerErrorHandling } from '../../../src/api/plugins/errors.ts';
import { reportRoutes } from '../../../src/api/routes/reports.ts';
import type { Task } from '../../../src/domain/task.ts';
import { RemoteReports } from '../../../src/engine/remote-reports.ts';
import { TaskTokens } from '../../../src/engine/task-tokens.ts';
import type { TaskReportAccess } from '../../../src/executors/task-reports.ts';

export interface ReportFront {
  access: TaskReportAccess;
  /** A task the route knows from now on (running, at its attempt). */
  known(task: Pick<Task, 'id' | 'attempt'>): void;
  close(): Promise<void>;
}

export async function reportFront(): Promise<ReportFront> {
  const tokens = new TaskTokens(randomBytes(32));
  const attempts = new Map<string, number>();
  const reports = new RemoteReports({
    tokens,
    task: async (id) => (attempts.has(id) ? { status: 'running', attempt: attempts.get(id)! } : null),
  });
  const app = Fastify({ forceCloseConnections: true });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  registerErrorHandling(app);
  await app.register(reportRoutes, { reports });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return {
    access: { reports, url, token: (taskId, attempt) => tokens.mint(taskId, attempt) },
    known: (task) => void attempts.set(task.id, task.attempt),
    close: () => app.close(),
  };
}
