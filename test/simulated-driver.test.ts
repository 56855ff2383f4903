/** The simulated driver against the VmDriver contract. */
import { createSimulatedDriver } from '../src/compute/simulated.js';
import { driverContract } from './driver-contract.js';

driverContract('simulated', (events) => createSimulatedDriver(events, { delayMs: 30 }), { bootTimeoutMs: 1000 });
