/**
 * `lakeray demo mnist`: seed 004's pipeline in one command against a running server —
 * ingest Fashion-MNIST into the lake (unless it is there), train the CNN, register the
 * model, start the inference service and print the drawing page's URL. Each step is an
 * ordinary task, watched with the same progress view as `lakeray watch`.
 */
import type { Command } from 'commander';
import { TERMINAL_STATUSES, type SubmitBody, type TaskJson } from './client.ts';
import type { Action, Ctx } from './context.ts';
import { CliError, EXIT } from './errors.ts';
import { number } from './options.ts';
import { watchTask } from './watch.ts';

export interface DemoOptions {
  epochs?: number;
  /** Re-run ingestion and training even when the dataset and model exist. */
  force?: boolean;
  /** Stop after training. */
  serve?: boolean;
  dataset?: string;
  model?: string;
}

// The demo asks through lists, not by probing for 404s and 503s: a normal run leaves no
// "request rejected" lines in the server's log.
const exists = async (ctx: Ctx, kind: 'datasets' | 'models', name: string): Promise<boolean> =>
  (await ctx.client.lakeList(kind)).some((t) => t.id === name);

const serviceState = async (ctx: Ctx, id: string): Promise<string | undefined> =>
  (await ctx.client.services()).services.find((s) => s.task_id === id)?.state;

/**
 * One step as a task, watched. 'input-missing' when it failed because its data is not there:
 * the watch has then printed the script's one line saying where it looked and the command
 * that fixes it, and nothing needs adding. Any other failure throws, pointing at the logs.
 */
async function step(ctx: Ctx, title: string, body: SubmitBody): Promise<'ok' | 'input-missing'> {
  ctx.out(`\n▶ ${title}`);
  const task = await ctx.client.submit(body);
  const code = await watchTask(ctx, task.id);
  if (code === EXIT.OK) return 'ok';
  const ended: TaskJson | undefined = await ctx.client.get(task.id).catch(() => undefined);
  if (ended?.error?.code === 'INPUT_NOT_FOUND') return 'input-missing';
  throw new CliError('DEMO_STEP_FAILED', `${title} did not succeed (task ${task.id}); see: lakeray logs ${task.id}`);
}

/**
 * Before retraining, stop the services of the current model: one holds CPU the training asks
 * for (on two cores it would wait behind the service for ever), keeps the model in use (its new
 * version could not be written), and would go on serving the old version.
 */
async function stopServing(ctx: Ctx, model: string): Promise<void> {
  for (const d of await ctx.client.deployments()) {
    if (d.name !== DEPLOYMENT || !d.model.startsWith(model)) continue;
    ctx.out(`deleting deployment ${d.name} of the current ${model} to train a new one`);
    await ctx.client.deleteDeployment(d.name);
  }
  const running = await ctx.client.list({ status: ['pending', 'running'], name: 'mnist_serve', limit: 50 });
  for (const service of running.tasks.filter((t) => t.input === model)) {
    ctx.out(`stopping the service of the current ${model} (task ${service.id}) to train a new one`);
    await ctx.client.cancel(service.id);
    const deadline = Date.now() + 60_000;
    while (!TERMINAL_STATUSES.has((await ctx.client.get(service.id)).status)) {
      if (Date.now() > deadline) throw new CliError('DEMO_STEP_FAILED', `the service task ${service.id} did not stop in 60 s; stop it with: lakeray cancel ${service.id}`);
      await new Promise((r) => setTimeout(r, 300));
    }
  }
}

/** The deployment the demo creates (the Draw page's default): scale to zero, one replica at most. */
const DEPLOYMENT = 'mnist';

/**
 * The model deployed for serving (docs/serving.md), at its latest version: a deployment of an
 * older version is replaced. Its replica starts on the first request and retires when idle.
 */
async function deploy(ctx: Ctx, model: string, version: number): Promise<void> {
  const current = (await ctx.client.deployments()).find((d) => d.name === DEPLOYMENT);
  if (current && current.model === model && current.model_version === version) return void ctx.out(`✓ deployment ${DEPLOYMENT} serves ${model} v${version}`);
  if (current) await ctx.client.deleteDeployment(DEPLOYMENT);
  await ctx.client.createDeployment({ name: DEPLOYMENT, model, replicas: { min: 0, max: 1, idle_timeout_s: 300 }, max_batch_size: 32, batch_timeout_ms: 2 });
  ctx.out(`✓ deployment ${DEPLOYMENT} serves ${model} v${version} (a replica starts on the first request)`);
}

const FASHION_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];

/** What to draw, from the classes the model was trained on (its params; Fashion-MNIST unless they say otherwise). */
export function drawInvitation(classes: unknown): string {
  const names = Array.isArray(classes) && classes.length > 0 ? classes.map(String) : FASHION_CLASSES;
  if (names.every((n, i) => n === String(i))) return `Draw a digit (0–${names.length - 1})`;
  const fashion = names.length === FASHION_CLASSES.length && names.every((n, i) => n === FASHION_CLASSES[i]);
  return `Draw ${fashion ? 'a piece of clothing; the model knows the 10 Fashion-MNIST classes' : `one of the ${names.length} classes the model knows`}: ${names.join(', ')}`;
}

export async function demoMnist(ctx: Ctx, o: DemoOptions): Promise<number> {
  const dataset = o.dataset ?? 'mnist_clean';
  const model = o.model ?? 'mnist_cnn_v1';
  if (o.force || !(await exists(ctx, 'datasets', dataset))) {
    const ingested = await step(ctx, `ingest Fashion-MNIST into dataset ${dataset}`, {
      name: 'mnist_ingestion',
      script: 'mnist/mnist_clean.py',
      output: dataset,
      params: { normalize: true, flatten: true },
    });
    if (ingested === 'input-missing') return EXIT.ERROR;
  } else ctx.out(`✓ dataset ${dataset} is in the lake`);

  if (o.force || o.epochs !== undefined || !(await exists(ctx, 'models', model))) {
    await stopServing(ctx, model);
    const trained = await step(ctx, `train the CNN on ${dataset} → model ${model}`, {
      name: model,
      script: 'mnist/mnist_cnn.py',
      input: dataset,
      output: model,
      params: { epochs: o.epochs ?? 1, learning_rate: 0.001, batch_size: 64, device: 'cpu' },
      resources: { cpu: 2 },
    });
    if (trained === 'input-missing') return EXIT.ERROR;
  } else ctx.out(`✓ model ${model} is in the lake`);
  const card = await ctx.client.lakeGet('models', model);
  if (card.metrics) ctx.out(`  metrics: ${JSON.stringify(card.metrics)}`);
  if (o.serve === false) return EXIT.OK;

  ctx.out(`\n▶ serve ${model}`);
  await deploy(ctx, model, card.version);
  const running = await ctx.client.list({ status: ['running'], name: 'mnist_serve', limit: 50 });
  let task = running.tasks.find((t) => t.input === model);
  if (!task) {
    task = await ctx.client.submit({
      name: 'mnist_serve',
      script: 'mnist/mnist_serve.py',
      input: model,
      params: { device: 'cpu' },
      resources: { cpu: 0.5 },
      service: { health_path: '/health', restart: 'on-failure' },
    });
  }
  const deadline = Date.now() + 120_000;
  while ((await serviceState(ctx, task.id)) !== 'ready') {
    const now = await ctx.client.get(task.id);
    if (now.status !== 'running' && now.status !== 'pending')
      throw new CliError('DEMO_STEP_FAILED', `the service ended (${now.status}); see: lakeray logs ${task.id}`);
    if (Date.now() > deadline) throw new CliError('DEMO_STEP_FAILED', `the service did not become healthy in 120 s; see: lakeray logs ${task.id}`);
    await new Promise((r) => setTimeout(r, 300));
  }
  const page = `${ctx.url.replace(/\/+$/, '')}/api/v1/services/${task.id}/`;
  if (ctx.json) ctx.printJson({ dataset, model, service_task: task.id, url: page, deployment: DEPLOYMENT });
  else {
    ctx.out(`✓ ${model} is serving (task ${task.id})`);
    ctx.out(`\n${drawInvitation(card.params?.classes)}`);
    ctx.out(`Drawing page: ${ctx.url.replace(/\/+$/, '')}/draw (through deployment ${DEPLOYMENT}); seed 004's own page: ${page}`);
    ctx.out(`Predict:      curl -s ${ctx.url.replace(/\/+$/, '')}/api/v1/deployments/${DEPLOYMENT}/predict -H 'content-type: application/json' -d '{"image": [0, …784 values]}'`);
    ctx.out(`Stop it:      lakeray cancel ${task.id}`);
  }
  return EXIT.OK;
}

export function registerDemo(program: Command, action: Action): void {
  const demo = program.command('demo').description('run a built-in demo against the server');
  demo
    .command('mnist')
    .description('ingest Fashion-MNIST, train a CNN, register and serve it, and print the drawing page')
    .option('--epochs <n>', 'training epochs (retrains when given)', number({ int: true, min: 1 }))
    .option('--force', 'ingest and train again even if the dataset and model exist')
    .option('--no-serve', 'stop after training')
    .option('--dataset <name>', 'dataset name (default mnist_clean)')
    .option('--model <name>', 'model name (default mnist_cnn_v1)')
    .action((o: DemoOptions, cmd: Command) => action(cmd, (ctx) => demoMnist(ctx, o)));
}
