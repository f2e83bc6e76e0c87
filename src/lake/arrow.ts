/**
 * apache-arrow, loaded as the CommonJS build that @lancedb/lancedb itself requires. Importing
 * the ESM build instead would give a second copy of every class, and LanceDB's instanceof
 * checks would reject our tables. Everything in Lakeray that touches Arrow imports it from here.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const arrow = require('apache-arrow') as typeof import('apache-arrow');

export default arrow;
export type { DataType, Field, RecordBatch, Schema, Table, Vector } from 'apache-arrow';
