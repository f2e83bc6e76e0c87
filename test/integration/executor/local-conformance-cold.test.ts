/** The local executor passes the Executor conformance suite with cold processes, Python and Node. */
import { executorConformance } from './conformance.ts';
import { local } from './local-fixture.ts';

executorConformance('local, cold python process', local('python'));
executorConformance('local, cold node process', local('node'));
