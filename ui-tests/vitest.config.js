// Unit tests for ../ui (plain ES modules, no build step). happy-dom gives them a window and a
// DOM; Tauri's IPC bridge is mocked per test with mockIPC from @tauri-apps/api/mocks.
import { defineConfig } from 'vitest/config';

// ui/format.js formats in the system's own time zone and language. Pin both for the test
// workers (they inherit this process's environment) so the expected strings hold on every
// machine: Amsterdam is an hour off UTC, which the "today" tests rely on.
process.env.TZ = 'Europe/Amsterdam';
process.env.LC_ALL = 'en_GB.UTF-8';

export default defineConfig({
  test: {
    environment: 'happy-dom',
    include: ['tests/**/*.test.js'],
    restoreMocks: true,
    unstubGlobals: true,
  },
});
