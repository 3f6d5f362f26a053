/**
 * The chat page (/). Each message is one `create-and-call-stream` request carrying the whole
 * conversation so far: every answer is its own job, created, completed and charged by the
 * gateway in that one request. The call is resumable: the gateway runs it whatever becomes of
 * the page, so the client's stream attaches to it again by itself when the connection drops, a
 * reloaded or reopened page resumes it (resumable.ts keeps it in localStorage) and shows the
 * whole answer, and Stop cancels it through the API, since leaving the stream no longer ends it.
 */
import {
  APIUserAbortError,
  type ChatMessage,
  type ChatStream,
  type ReconnectOptions,
  SluiceError,
  type SluiceClient,
} from '../../src/client';
import { bindConnectionForm, type Connection, clientFor, saveConnection } from './connection';
import { describeError } from './messages';
import { type InFlight, clearInFlight, inFlightOf, loadInFlight, saveInFlight, tokenClient } from './resumable';

const $ = <T extends HTMLElement>(sel: string) => document.querySelector<T>(sel)!;

const log = $<HTMLElement>('#log');
const composer = $<HTMLFormElement>('#composer');
const input = $<HTMLTextAreaElement>('#message');
const sendButton = $<HTMLButtonElement>('#send');
const stopButton = $<HTMLButtonElement>('#stop');
const modelSelect = $<HTMLSelectElement>('#model');
const credits = $<HTMLOutputElement>('#credits');
const status = $<HTMLElement>('#status');

let client: SluiceClient | null = null;
let connection: Connection;
const history: ChatMessage[] = [];

/** One answer on screen, from its start (or the page picking it up) to its end. */
interface Turn {
  /** The conversation it answers: after a New chat it ends on its own, outside the history. */
  conversation: number;
  view: ReturnType<typeof addMessage> & { textNode: Text };
  /** The call, once its start named it; `null` before, or when the gateway did not run it resumably. */
  call: InFlight | null;
  /** The start's response has arrived (so a missing `call` means a plain, non-resumable stream). */
  started: boolean;
  /** Ends this page's reading only; the call itself ends by cancelling it. */
  reading: AbortController;
  stopRequested: boolean;
  /** What reads the call: the page's client, or one with the call's own stream token when no key is saved. */
  reader: SluiceClient;
}

/**
 * A reader waits for the gateway for as long as it stays on the page, since the answer may still
 * be running there: the attempts to attach (after a reload) and to reattach (after a drop) never
 * run out, backing off to one every 10 s at most, and only Stop or New chat ends the wait. A
 * refusal (the call's events expired, the key revoked) ends it at once.
 */
const RECONNECT: ReconnectOptions = { maxAttempts: Infinity, initialDelayMs: 1000, maxDelayMs: 10_000 };
const PATIENT = Infinity;

let conversation = 0;
let turn: Turn | null = null;

function showStatus(text: string, kind: 'info' | 'error' = 'info') {
  status.textContent = text;
  status.dataset.kind = kind;
}

async function refreshCredits() {
  if (!client) {
    credits.value = '–';
    return;
  }
  try {
    const c = await client.credits();
    credits.value = String(c.credits_remaining);
    credits.dataset.value = String(c.credits_remaining);
  } catch (err) {
    credits.value = '–';
    showStatus(describeError(err), 'error');
  }
}

async function loadModels() {
  if (!client) return;
  try {
    const { data } = await client.models();
    const wanted = connection.model || (data.some((m) => m.id === 'mock') ? 'mock' : '');
    modelSelect.replaceChildren(
      new Option('Gateway default', ''),
      ...data.map(
        (m) => new Option(m.id === m.owned_by ? m.id : `${m.id} (${m.owned_by})`, m.id, false, m.id === wanted),
      ),
    );
    modelSelect.value = data.some((m) => m.id === wanted) ? wanted : '';
  } catch (err) {
    showStatus(describeError(err), 'error');
  }
}

function connect(c: Connection) {
  connection = c;
  client = clientFor(c);
  showStatus(client ? '' : 'Paste an API key to start (npm start prints a demo key).');
  void refreshCredits();
  void loadModels();
  // An answer a closed or reloaded page left running, once there is a credential to read it with.
  const saved = loadInFlight();
  const reader = saved && (client ?? tokenClient(saved, c.teamId || 'acme-corp'));
  if (saved && reader && !turn && history.length === 0) void resume(saved, reader);
}

/** Appends a message to the log and returns the element its text goes in. */
function addMessage(role: 'user' | 'assistant', text: string) {
  const article = document.createElement('article');
  article.className = `msg ${role}`;
  const who = document.createElement('h2');
  who.className = 'who';
  who.textContent = role === 'user' ? 'You' : 'Assistant';
  const body = document.createElement('p');
  body.className = 'text';
  body.textContent = text;
  const meta = document.createElement('p');
  meta.className = 'meta';
  article.append(who, body, meta);
  log.append(article);
  log.scrollTop = log.scrollHeight;
  return { article, body, meta };
}

/** Runs `update`, keeping the conversation scrolled to the end if it was (and leaving it alone if the reader scrolled up). */
function keepingBottom(update: () => void) {
  const pinned = log.scrollHeight - log.scrollTop - log.clientHeight < 48;
  update();
  if (pinned) log.scrollTop = log.scrollHeight;
}

function setBusy(busy: boolean) {
  sendButton.disabled = busy;
  stopButton.disabled = !busy;
  composer.setAttribute('aria-busy', String(busy));
}

/** An empty assistant message, streaming, as the page's current turn. */
function beginTurn(call: InFlight | null, reader: SluiceClient): Turn {
  const view = addMessage('assistant', '');
  view.article.dataset.state = 'streaming';
  view.article.setAttribute('aria-busy', 'true');
  const textNode = view.body.appendChild(document.createTextNode(''));
  const t: Turn = {
    conversation,
    view: { ...view, textNode },
    call,
    started: call !== null,
    reading: new AbortController(),
    stopRequested: false,
    reader,
  };
  turn = t;
  setBusy(true);
  return t;
}

type Ending = { state: 'done'; stream: ChatStream } | { state: 'stopped' } | { state: 'error'; err: unknown };

/** The stream's last event said the call was cancelled (by this page's Stop, or another tab's). */
const wasCancelled = (err: unknown) => err instanceof SluiceError && err.code === 'call_cancelled';

/**
 * Shows a turn's answer as it streams. A dropped connection does not end it: the client's stream
 * attaches to the call again after the last event it read, so each piece is appended once.
 */
async function follow(t: Turn, open: () => Promise<ChatStream>): Promise<Ending> {
  try {
    const stream = await open();
    for await (const chunk of stream) {
      const content = chunk.choices[0]?.delta.content;
      if (content) keepingBottom(() => t.view.textNode.appendData(content));
    }
    return { state: 'done', stream };
  } catch (err) {
    if (err instanceof APIUserAbortError || wasCancelled(err)) return { state: 'stopped' };
    return { state: 'error', err };
  }
}

/** Shows how a turn ended, and keeps the conversation's history in step. */
async function finish(t: Turn, ending: Ending) {
  const { view } = t;
  const answer = view.textNode.data;
  const current = t.conversation === conversation;
  view.article.setAttribute('aria-busy', 'false');
  if (ending.state === 'done') {
    const { stream } = ending;
    const usage = await stream.finalUsage();
    if (current) history.push({ role: 'assistant', content: answer });
    view.article.dataset.state = 'done';
    keepingBottom(
      () =>
        (view.meta.textContent = [
          usage ? `${usage.completion_tokens} tokens` : null,
          stream.finishReason === 'length' ? 'cut at max tokens' : null,
          (t.call?.jobId ?? stream.jobId) ? `job ${t.call?.jobId ?? stream.jobId}` : null,
        ]
          .filter(Boolean)
          .join(' · ')),
    );
  } else if (ending.state === 'stopped') {
    // Keep what arrived: the next turn sends it as the assistant's (partial) answer.
    if (current) {
      if (answer) history.push({ role: 'assistant', content: answer });
      else history.pop();
    }
    view.article.dataset.state = 'stopped';
    keepingBottom(() => (view.meta.textContent = 'Stopped'));
  } else {
    // Nothing usable: forget the turn and give the text back, so it can be sent again.
    view.article.dataset.state = 'error';
    keepingBottom(() => (view.meta.textContent = 'Failed'));
    if (current) {
      const asked = history.pop();
      showStatus(describeError(ending.err), 'error');
      if (!input.value && typeof asked?.content === 'string') input.value = asked.content;
    }
  }
  // The call is over (each way above): a reload has nothing to pick up.
  if (t.call) clearInFlight(t.call.callId);
  if (turn === t) {
    turn = null;
    setBusy(false);
    input.focus();
  }
  await refreshCredits();
  // A stopped answer's job is settled off the response path; show the released hold too.
  if (ending.state !== 'done') setTimeout(() => void refreshCredits(), 1500);
}

/**
 * Stop: cancels the call, whose stream then ends with a `call_cancelled` event. Pressed before the
 * start named the call, the cancel goes out as soon as it does.
 */
async function stop(t: Turn) {
  if (t.stopRequested) return;
  t.stopRequested = true;
  if (t.call) await cancel(t, t.call.callId);
  // A stream the gateway did not make resumable ends when this page leaves it.
  else if (t.started) t.reading.abort();
}

async function cancel(t: Turn, callId: string) {
  try {
    // The page's key when one is saved since: a stream token may only read.
    await (client ?? t.reader).cancel(callId);
  } catch (err) {
    // The gateway was not told (unreachable, key gone): at least stop showing the answer.
    if (t.conversation === conversation)
      showStatus(`The answer could not be cancelled: ${describeError(err)}`, 'error');
    t.reading.abort();
    return;
  }
  // The cancelled stream's last event ends the reading; should it not come, end it anyway.
  setTimeout(() => t.reading.abort(), 3000);
}

async function send(text: string) {
  if (!client) {
    showStatus('Paste an API key first.', 'error');
    $<HTMLInputElement>('#api-key').focus();
    return;
  }
  showStatus('');
  history.push({ role: 'user', content: text });
  addMessage('user', text);
  const t = beginTurn(null, client);
  const messages = [...history];
  const ending = await follow(t, async () => {
    // No signal: a start that is already under way must not be abandoned blind, or the call
    // would run on with nobody knowing its id to cancel it.
    const stream = await t.reader.createAndCallStream({
      jobType: 'chat',
      model: modelSelect.value || undefined,
      messages,
      resumable: RECONNECT,
    });
    const call = inFlightOf(stream, messages);
    t.started = true;
    t.call = call;
    // From here, once the response named the call, the page's Stop may end the reading.
    if (t.reading.signal.aborted) stream.abort();
    else t.reading.signal.addEventListener('abort', () => stream.abort(), { once: true });
    if (call && t.stopRequested) void cancel(t, call.callId);
    else if (call) saveInFlight(call);
    else if (t.stopRequested) t.reading.abort();
    return stream;
  });
  await finish(t, ending);
}

/** A call a closed or reloaded page left running: the conversation it answers, then its whole answer, live to its end. */
async function resume(saved: InFlight, reader: SluiceClient) {
  history.push(...saved.messages);
  for (const m of saved.messages) {
    if (m.role !== 'user' && m.role !== 'assistant') continue;
    const view = addMessage(m.role, typeof m.content === 'string' ? m.content : '');
    if (m.role === 'assistant') view.article.dataset.state = 'done';
  }
  const t = beginTurn(saved, reader);
  // From the first event, so the answer is rebuilt whole.
  const open = () =>
    reader.resume(saved.callId, { signal: t.reading.signal, maxRetries: PATIENT, reconnect: RECONNECT });
  await finish(t, await follow(t, open));
}

composer.addEventListener('submit', (e) => {
  e.preventDefault();
  const text = input.value.trim();
  if (!text || turn) return;
  input.value = '';
  void send(text);
});

// Enter sends, Shift+Enter is a new line (and Enter that confirms an IME composition is neither).
input.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    composer.requestSubmit();
  }
});

stopButton.addEventListener('click', () => {
  if (turn) void stop(turn);
});

$<HTMLButtonElement>('#new-chat').addEventListener('click', () => {
  // The running answer is cancelled and left to end on its own, out of the new conversation.
  const t = turn;
  turn = null;
  conversation++;
  if (t) {
    void stop(t);
    if (t.call) clearInFlight(t.call.callId);
  }
  setBusy(false);
  history.length = 0;
  log.replaceChildren();
  showStatus('New conversation.');
  input.focus();
});

modelSelect.addEventListener('change', () => saveConnection({ model: modelSelect.value }));

connect(bindConnectionForm(connect));
