/** The signed-in API client for the current region, for every page below the shell. */
import { createContext } from 'preact';
import { useContext, useEffect } from 'preact/hooks';
import type { Api } from './api.js';

export const ApiContext = createContext<Api | undefined>(undefined);

export function useApi(): Api {
  const api = useContext(ApiContext);
  if (!api) throw new Error('useApi outside ApiContext');
  return api;
}

export function useTitle(title: string): void {
  useEffect(() => {
    document.title = `${title} · nestbox console`;
  }, [title]);
}
