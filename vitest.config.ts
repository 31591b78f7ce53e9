import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    reporters: ["default", "./test/summary-reporter.ts"],
    // Kernel-engine tests build network namespaces; they must not race each other.
    fileParallelism: true,
    testTimeout: 30000,
    hookTimeout: 30000,
  },
});
