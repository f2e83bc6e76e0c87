// Does nothing: a task that only costs its dispatch.
export async function run() {
  return null;
}
