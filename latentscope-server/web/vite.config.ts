import { defineConfig, type Plugin } from 'vite';
import preact from '@preact/preset-vite';

declare const process: { env: Record<string, string | undefined> };

// The API server the dev server forwards to (`latentscope serve --port 5123`).
const api = process.env.LATENTSCOPE_API ?? 'http://127.0.0.1:5123';

/**
 * The built index.html loads the app from `/assets/…` when a server serves
 * it (at any address: `/datasets/{ds}/explore/{s}`, …), and from
 * `<site>/assets/…` in a static site, whose <head> sets
 * `window.__LS_SITE__` (the site root, relative: `"./"`): a small script at
 * the start of <body> (after any script the exporter adds to <head>) writes
 * the stylesheet and the module script with the right base. The app's own
 * imports are relative (`base: './'`).
 */
function loader(): Plugin {
  return {
    name: 'latentscope-loader',
    apply: 'build',
    enforce: 'post',
    transformIndexHtml: {
      order: 'post',
      handler(html) {
        const tags: string[] = [];
        const out = html
          .replace(/\s*<script type="module" crossorigin src="\.\/([^"]+)"><\/script>/g, (_, f: string) => {
            tags.push(`<script type="module" src="'+b+'${f}"><\\/script>`);
            return '';
          })
          .replace(/\s*<link rel="(stylesheet|modulepreload)" crossorigin href="\.\/([^"]+)">/g, (_, rel: string, f: string) => {
            tags.unshift(`<link rel="${rel}" href="'+b+'${f}">`);
            return '';
          });
        if (!tags.length) throw new Error('index.html: no script or stylesheet to load');
        const script =
          `<script>(function(){var s=window.__LS_SITE__,b=typeof s=='string'?(s===''||/\\/$/.test(s)?s:s+'/').replace(/"/g,'%22'):'/';` +
          `document.write('${tags.join('')}')})()</script>`;
        return out.replace('<body>', `<body>\n    ${script}`);
      },
    },
  };
}

export default defineConfig({
  base: './',
  plugins: [preact({ prerender: { enabled: false } }), loader()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    assetsDir: 'assets',
    chunkSizeWarningLimit: 400,
  },
  server: {
    host: '127.0.0.1',
    port: 5173,
    proxy: {
      '/api': { target: api, changeOrigin: true },
      '/favicon.svg': { target: api, changeOrigin: true },
    },
  },
});
