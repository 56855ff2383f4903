/**
 * The operations nestbox implements, each with its SDK input and output types. The HTTP layer looks
 * handlers up here; an EC2 action that is not listed is answered as not implemented, naming it.
 */
import type { Handler } from './context.js';
import { describeImages } from './images.js';
import { describeInstanceTypes } from './instance-types.js';
import {
  describeInstanceStatus,
  describeInstances,
  getConsoleOutput,
  modifyInstanceCpuOptions,
  rebootInstances,
  runInstances,
  startInstances,
  stopInstances,
  terminateInstances,
} from './instances.js';
import { createTags, deleteTags, describeTags } from './tags.js';

// Each handler keeps its precise types where it is defined; the registry only needs to call them.
// biome-ignore lint/suspicious/noExplicitAny: the registry is heterogeneous by nature
type AnyHandler = Handler<any, unknown>;

export const OPERATIONS: Readonly<Record<string, AnyHandler>> = {
  RunInstances: runInstances,
  DescribeInstances: describeInstances,
  DescribeInstanceStatus: describeInstanceStatus,
  StartInstances: startInstances,
  StopInstances: stopInstances,
  RebootInstances: rebootInstances,
  TerminateInstances: terminateInstances,
  ModifyInstanceCpuOptions: modifyInstanceCpuOptions,
  GetConsoleOutput: getConsoleOutput,
  CreateTags: createTags,
  DeleteTags: deleteTags,
  DescribeTags: describeTags,
  DescribeInstanceTypes: describeInstanceTypes,
  DescribeImages: describeImages,
};
