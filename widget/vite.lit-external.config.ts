/** The same build with `lit` left external, for apps that bundle their own Lit. */
import { mergeConfig } from 'vite';
import base from '../vite.config';

export default mergeConfig(base, {
  build: {
    emptyOutDir: false,
    lib: { fileName: () => 'live-operation.lit-external.js' },
    rolldownOptions: { external: [/^lit(\/|$)/, /^@lit\//, /^lit-(html|element)(\/|$)/] },
  },
});
