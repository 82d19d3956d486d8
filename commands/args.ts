import { z } from 'zod';
import { VmNameSchema } from '../src/hyperv/backend';

/** Shared argument pieces: one definition of a VM argument for every command. */
export const vmArg = { vm: VmNameSchema };
export const VmArgs = z.strictObject(vmArg);
export const NoArgs = z.strictObject({});
