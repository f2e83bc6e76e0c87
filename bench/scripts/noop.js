// Throughput benchmark task: does nothing, as the BullMQ and Celery baselines do.
export async function run() {
  return null;
}
