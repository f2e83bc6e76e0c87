// Conformance: throws.
export async function run() {
  throw new Error('boom');
}
