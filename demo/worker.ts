/**
 * `npm run worker`: a BullMQ worker running the demo's operations, for a
 * server started with `LIVEOP_RUNNER=bullmq REDIS_URL=… npm start`.
 */
import { workFromEnv } from '../server/serve.ts';
import registerDemoOperations from './operations.ts';

await workFromEnv({ register: registerDemoOperations });
