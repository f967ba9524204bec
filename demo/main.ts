/**
 * `npm start`: the standalone server with the demo mounted at `/`. The demo
 * lets anyone who reaches it start (rate-limited) sessions, so it is on by
 * default only where everyone who reaches the server is on this machine
 * (open mode), and asked for otherwise: LIVEOP_DEMO=1 turns it on, 0 off.
 */
import { serveFromEnv } from '../server/serve.ts';
import { demoRoutes } from './demo.ts';
import registerDemoOperations from './operations.ts';

await serveFromEnv({
  register: registerDemoOperations,
  mount: (app, liveop, { open }) => {
    const flag = process.env.LIVEOP_DEMO;
    const on = flag === undefined || flag === '' ? open : flag === '1';
    if (!on) return `liveop: demo off${open ? ' (LIVEOP_DEMO=0)' : ' (API keys are set; LIVEOP_DEMO=1 turns it on)'}`;
    app.route('/', demoRoutes(liveop));
    return 'liveop: demo at {url}/';
  },
});
