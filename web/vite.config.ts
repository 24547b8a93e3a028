import { defineConfig } from 'vitest/config';

// JSX goes through esbuild's automatic runtime: @vitejs/plugin-react's current major needs a
// newer Vite than the one that installs on Node 20, and we do not need Fast Refresh in builds.
export default defineConfig({
  esbuild: { jsx: 'automatic' },
  build: {
    outDir: 'dist',
    chunkSizeWarningLimit: 1500,
    rollupOptions: {
      // React libraries mark modules "use client" for server components; a browser bundle has
      // nothing to do with the directive, so the warning for each one is noise.
      onwarn(warning, warn) {
        if (warning.code !== 'MODULE_LEVEL_DIRECTIVE') warn(warning);
      },
    },
  },
  server: {
    proxy: {
      '/api': 'http://127.0.0.1:5000',
      '/login': 'http://127.0.0.1:5000',
      '/logout': 'http://127.0.0.1:5000',
      '/setup': 'http://127.0.0.1:5000',
    },
  },
  test: {
    environment: 'jsdom',
    include: ['src/**/*.test.{ts,tsx}'],
    setupFiles: ['src/test-setup.ts'],
    testTimeout: 20_000,
  },
});
