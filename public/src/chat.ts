/**
 * The chat page (/). Each message is one `create-and-call-stream` request carrying the whole
 * conversation so far: every answer is its own job, created, completed and charged by the
 * gateway in that one request, so a closed tab or a Stop never leaves a job holding credit.
 */
import { APIUserAbortError, type ChatMessage, type SluiceClient } from '../../src/client';
import { bindConnectionForm, type Connection, clientFor, saveConnection } from './connection';
import { describeError } from './messages';

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
let inFlight: AbortController | null = null;

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

async function send(text: string) {
  if (!client) {
    showStatus('Paste an API key first.', 'error');
    $<HTMLInputElement>('#api-key').focus();
    return;
  }
  showStatus('');
  history.push({ role: 'user', content: text });
  addMessage('user', text);
  const view = addMessage('assistant', '');
  view.article.dataset.state = 'streaming';
  view.article.setAttribute('aria-busy', 'true');
  const textNode = view.body.appendChild(document.createTextNode(''));
  const controller = new AbortController();
  inFlight = controller;
  setBusy(true);
  let answer = '';
  try {
    const stream = await client.createAndCallStream({
      jobType: 'chat',
      model: modelSelect.value || undefined,
      messages: history,
      signal: controller.signal,
    });
    for await (const chunk of stream) {
      const content = chunk.choices[0]?.delta.content;
      if (content) {
        answer += content;
        keepingBottom(() => (textNode.data = answer));
      }
    }
    const usage = await stream.finalUsage();
    history.push({ role: 'assistant', content: answer });
    view.article.dataset.state = 'done';
    keepingBottom(
      () =>
        (view.meta.textContent = [
          usage ? `${usage.completion_tokens} tokens` : null,
          stream.finishReason === 'length' ? 'cut at max tokens' : null,
          stream.jobId ? `job ${stream.jobId}` : null,
        ]
          .filter(Boolean)
          .join(' · ')),
    );
  } catch (err) {
    if (err instanceof APIUserAbortError) {
      // Keep what arrived: the next turn sends it as the assistant's (partial) answer.
      if (answer) history.push({ role: 'assistant', content: answer });
      else history.pop();
      view.article.dataset.state = 'stopped';
      keepingBottom(() => (view.meta.textContent = 'Stopped'));
    } else {
      // Nothing usable: forget the turn and give the text back, so it can be sent again.
      history.pop();
      view.article.dataset.state = 'error';
      keepingBottom(() => (view.meta.textContent = 'Failed'));
      showStatus(describeError(err), 'error');
      if (!input.value) input.value = text;
    }
  } finally {
    view.article.setAttribute('aria-busy', 'false');
    inFlight = null;
    setBusy(false);
    input.focus();
  }
  await refreshCredits();
  // A stopped answer's job is settled off the response path; show the released hold too.
  if (view.article.dataset.state !== 'done') setTimeout(() => void refreshCredits(), 1500);
}

composer.addEventListener('submit', (e) => {
  e.preventDefault();
  const text = input.value.trim();
  if (!text || inFlight) return;
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

stopButton.addEventListener('click', () => inFlight?.abort());

$<HTMLButtonElement>('#new-chat').addEventListener('click', () => {
  inFlight?.abort();
  history.length = 0;
  log.replaceChildren();
  showStatus('New conversation.');
  input.focus();
});

modelSelect.addEventListener('change', () => saveConnection({ model: modelSelect.value }));

connect(bindConnectionForm(connect));
