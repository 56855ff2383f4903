/** The signed-in user's keys and region, kept for this browser tab only (sessionStorage). */
import type { Credentials } from './api.js';

export interface Session extends Credentials {
  readonly region: string;
}

const KEY = 'nestbox.console.session';
export const DEFAULT_REGION = 'us-east-1';

export function loadSession(): Session | undefined {
  try {
    const s = JSON.parse(sessionStorage.getItem(KEY) ?? 'null') as Partial<Session> | null;
    if (s && typeof s.accessKeyId === 'string' && typeof s.secretAccessKey === 'string' && typeof s.region === 'string') {
      return { accessKeyId: s.accessKeyId, secretAccessKey: s.secretAccessKey, region: s.region };
    }
  } catch {
    // unreadable: treated as signed out
  }
  return undefined;
}

export function saveSession(session: Session): void {
  sessionStorage.setItem(KEY, JSON.stringify(session));
}

export function clearSession(): void {
  sessionStorage.removeItem(KEY);
}
