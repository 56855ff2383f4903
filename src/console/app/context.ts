/** The signed-in API client for the current region, and its list of instances, for every page below the shell. */
import { createContext } from 'preact';
import { useContext, useEffect } from 'preact/hooks';
import type { Api } from './api.js';
import type { InstanceStore } from './list/store.js';

export interface ConsoleServices {
  readonly api: Api;
  readonly instances: InstanceStore;
}

export const ServicesContext = createContext<ConsoleServices | undefined>(undefined);

function useServices(): ConsoleServices {
  const services = useContext(ServicesContext);
  if (!services) throw new Error('used outside ServicesContext');
  return services;
}

export const useApi = (): Api => useServices().api;
export const useInstanceStore = (): InstanceStore => useServices().instances;

export function useTitle(title: string): void {
  useEffect(() => {
    document.title = `${title} · nestbox console`;
  }, [title]);
}
