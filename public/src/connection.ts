/**
 * The key and team both pages use, kept in localStorage (this browser only), and the client
 * made from them. The gateway is the page's own origin.
 */
import { SluiceClient } from '../../src/client';

const KEY = 'sluice.apiKey';
const TEAM = 'sluice.teamId';
const MODEL = 'sluice.model';

export interface Connection {
  apiKey: string;
  teamId: string;
  model: string;
}

export function loadConnection(): Connection {
  return {
    apiKey: localStorage.getItem(KEY) ?? '',
    teamId: localStorage.getItem(TEAM) ?? 'acme-corp',
    model: localStorage.getItem(MODEL) ?? '',
  };
}

export function saveConnection(c: Partial<Connection>): void {
  if (c.apiKey !== undefined) localStorage.setItem(KEY, c.apiKey);
  if (c.teamId !== undefined) localStorage.setItem(TEAM, c.teamId);
  if (c.model !== undefined) localStorage.setItem(MODEL, c.model);
}

export function forgetKey(): void {
  localStorage.removeItem(KEY);
}

/** A client for the saved connection, or `null` while no key is saved. */
export function clientFor(c: Connection): SluiceClient | null {
  if (!c.apiKey) return null;
  return new SluiceClient({
    baseUrl: location.origin,
    apiKey: c.apiKey,
    teamId: c.teamId || 'acme-corp',
    maxRetries: 1,
  });
}

/** Fills the connection form from storage and calls `onSave` after each save. */
export function bindConnectionForm(onSave: (c: Connection) => void): Connection {
  const form = document.querySelector<HTMLFormElement>('#connection')!;
  const key = form.querySelector<HTMLInputElement>('#api-key')!;
  const team = form.querySelector<HTMLInputElement>('#team-id')!;
  const saved = loadConnection();
  key.value = saved.apiKey;
  team.value = saved.teamId;
  const details = form.closest('details');
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    saveConnection({ apiKey: key.value.trim(), teamId: team.value.trim() || 'acme-corp' });
    if (details && key.value.trim()) details.open = false;
    onSave(loadConnection());
  });
  form.querySelector('#forget')?.addEventListener('click', () => {
    forgetKey();
    key.value = '';
    key.focus();
    onSave(loadConnection());
  });
  // Open the panel while there is no key, so a first visit starts there.
  if (details) details.open = !saved.apiKey;
  return saved;
}
