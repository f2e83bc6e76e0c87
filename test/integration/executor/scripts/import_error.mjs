// Conformance: fails while it is imported.
import 'no-such-module-for-lakeray-conformance';

export async function run() {
  return null;
}
