// Whether this machine can run the kernel engine's tests, and why not. They need root, iproute2
// and iptables on Linux; anywhere else they are skipped with the reason printed once.

import { checkPrerequisites, LabPrerequisiteError } from "../../src/lab/exec.js";

function reason(): string | null {
  try {
    checkPrerequisites();
    return null;
  } catch (err) {
    return err instanceof LabPrerequisiteError ? err.message : String(err);
  }
}

export const labSkipReason = reason();
if (labSkipReason) {
  console.warn(`kernel engine tests skipped: ${labSkipReason}`);
}
