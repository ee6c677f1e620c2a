// The chat page: joins a room over the WebSocket API, shows the history and
// live changes, and lets a person send, edit and delete their own messages.
// No framework and no build step. Everything a user typed is inserted with
// textContent, never as HTML.
"use strict";

const ROOM_PATTERN = /^[a-z0-9-]{1,32}$/;
const BACKOFF_BASE_MS = 500;
const BACKOFF_MAX_MS = 30000;
// API Gateway closes a WebSocket idle for 10 minutes: a ping every 5 keeps
// an open page connected (the handler answers without touching the database).
const KEEPALIVE_MS = 5 * 60 * 1000;
// A handshake with no answer is given up after this long and retried (a
// proxy or a network that swallows it would otherwise leave the page
// "Connecting…" for good). Longer than the longest back-off, and than a
// cold connect function's first answer.
const HANDSHAKE_MS = 40000;

const $ = (id) => document.getElementById(id);

const state = {
  config: null,
  room: null,
  name: null,
  socket: null,
  attempt: 0,        // reconnect attempts since the last successful open
  reconnectTimer: null,
  keepAliveTimer: null,
  leaving: false,
  editing: null,     // id of the message being edited
  nextCursor: null,
  messages: new Map(), // id -> message, the page's single source of truth
  clockOffset: 0,    // server's clock minus this page's, in seconds (history's `now`)
  renewed: new Set(), // rooms whose push subscription this visit stored again
  me: null,          // the history's `you`: name, token, verified, moderator
};

// ----------------------------------------------------------------- storage --
// The author token proves authorship for edits and deletes; keeping it per
// room lets a reload or a reconnect edit what this browser sent.
const stored = {
  get: (key) => { try { return localStorage.getItem(key); } catch { return null; } },
  set: (key, value) => { try { localStorage.setItem(key, value); } catch { /* private mode */ } },
};
const tokenKey = (room) => `chat.token.${room}`;
const mineKey = (room) => `chat.mine.${room}`;

function myIds(room) {
  try { return new Set(JSON.parse(stored.get(mineKey(room)) || "[]")); } catch { return new Set(); }
}

function rememberMine(room, id) {
  const ids = [...myIds(room), id].slice(-500);
  stored.set(mineKey(room), JSON.stringify(ids));
}

// ------------------------------------------------------------------ config --
async function loadConfig() {
  const response = await fetch("/config.json", { cache: "no-store" });
  if (!response.ok) throw new Error(`config.json: HTTP ${response.status}`);
  return response.json();
}

// ------------------------------------------------------------------ status --
function setStatus(kind, text) {
  const status = $("status");
  status.dataset.state = kind;
  status.textContent = text;
}

function notify(text) {
  const notice = $("notice");
  notice.textContent = text;
  notice.hidden = !text;
}

// --------------------------------------------------------------- rendering --
function formatTime(seconds) {
  const date = new Date(seconds * 1000);
  return date.toLocaleString([], { dateStyle: "short", timeStyle: "short" });
}

function renderMessage(message) {
  const item = document.createElement("li");
  item.id = `m-${message.id}`;
  const mine = myIds(state.room).has(message.id);
  item.classList.toggle("mine", mine);

  // <bdi>: a name's own text direction cannot reorder what follows it.
  const name = document.createElement("bdi");
  name.className = "name";
  name.textContent = message.name;
  item.append(name);
  if (message.verified) {
    // Signed in (sign-in on): the name is this person's own.
    const verified = document.createElement("span");
    verified.className = "verified";
    verified.title = "signed in";
    verified.textContent = "\u2713";
    item.append(" ", verified);
  }
  if (message.source) {
    // Names are not authenticated; the source at least is known.
    const source = document.createElement("span");
    source.className = "source";
    source.textContent = message.source;
    item.append(" ", source);
  }
  const time = document.createElement("time");
  time.dateTime = new Date(message.created_at * 1000).toISOString();
  time.textContent = ` ${formatTime(message.created_at)}`;
  item.append(" ", time);
  if (message.edited_at) {
    const edited = document.createElement("span");
    edited.className = "edited";
    edited.textContent = " (edited)";
    item.append(edited);
  }
  if (mine && editableFor(message) > 0) {
    // Redrawn without the buttons when the edit window closes.
    setTimeout(() => {
      const current = state.messages.get(message.id);
      if (current) $(`m-${message.id}`)?.replaceWith(renderMessage(current));
    }, editableFor(message) * 1000 + 500);
    const edit = document.createElement("button");
    edit.type = "button";
    edit.className = "link";
    edit.textContent = "Edit";
    edit.setAttribute("aria-label", "Edit this message");
    edit.addEventListener("click", () => startEdit(message.id));
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "link";
    remove.textContent = "Delete";
    remove.setAttribute("aria-label", "Delete this message");
    remove.addEventListener("click", () => request({ action: "delete", id: message.id }));
    item.append(" ", edit, remove);
  }
  if (state.me?.moderator && !mine) {
    const removeAny = document.createElement("button");
    removeAny.type = "button";
    removeAny.className = "link moderate";
    removeAny.textContent = "Remove";
    removeAny.setAttribute("aria-label", "Remove this message (moderator)");
    removeAny.addEventListener("click", () => request({ action: "moderate", op: "delete", id: message.id }));
    item.append(" ", removeAny);
  }
  const text = document.createElement("p");
  text.className = "text";
  text.textContent = message.text;
  item.append(text);
  return item;
}

// Seconds left in which the author may still edit or delete a message
// (config.json's editWindowSeconds, the server's rule), on the server's
// clock: a device whose clock is off neither hides the buttons too early
// nor offers an edit the server refuses.
function editableFor(message) {
  const serverNow = Date.now() / 1000 + state.clockOffset;
  return Math.floor(message.created_at + state.config.editWindowSeconds - serverNow);
}

// Ids are ULIDs: sorting them sorts by time, so the list is rebuilt in order
// whatever order frames arrived in, and a message seen twice shows once.
function redraw() {
  const list = $("messages");
  const ids = [...state.messages.keys()].sort();
  list.replaceChildren(...ids.map((id) => renderMessage(state.messages.get(id))));
  $("older-wrap").hidden = !state.nextCursor;
}

function upsert(message) {
  const known = state.messages.has(message.id);
  state.messages.set(message.id, message);
  const list = $("messages");
  const existing = $(`m-${message.id}`);
  const isNewest = !known && [...state.messages.keys()].every((id) => id <= message.id);
  if (existing) {
    existing.replaceWith(renderMessage(message));
  } else if (isNewest) {
    list.append(renderMessage(message));
    list.lastElementChild.scrollIntoView({ block: "nearest" });
  } else {
    redraw();
  }
}

// ----------------------------------------------------------------- socket --
function socketUrl() {
  const url = new URL(state.config.websocketUrl);
  url.searchParams.set("room", state.room);
  if (account.session) {
    // The name and the author token come from the ID token.
    url.searchParams.set("id_token", account.session.id_token);
    return url.toString();
  }
  url.searchParams.set("name", state.name);
  const token = stored.get(tokenKey(state.room));
  if (token) url.searchParams.set("token", token);
  return url.toString();
}

function connect(reloaded) {
  clearTimeout(state.reconnectTimer);
  if (state.config.signIn && account.expired()) {
    // The ID token lasts an hour: ask again, once, whether the session holds.
    if (reloaded) {
      setStatus("signed-out", "Your sign-in has expired: sign in again to chat.");
      account.show(state.room);
      return;
    }
    account.load().catch(() => null).then(() => connect(true));
    return;
  }
  setStatus("connecting", state.attempt ? "Reconnecting…" : "Connecting…");
  const socket = new WebSocket(socketUrl());
  state.socket = socket;
  let timedOut = false;
  const handshake = setTimeout(() => {
    if (socket.readyState === WebSocket.CONNECTING) {
      timedOut = true;
      socket.close();
    }
  }, HANDSHAKE_MS);
  socket.addEventListener("open", () => {
    clearTimeout(handshake);
    state.attempt = 0;
    clearInterval(state.keepAliveTimer);
    state.keepAliveTimer = setInterval(() => {
      if (state.socket === socket && socket.readyState === WebSocket.OPEN) {
        socket.send(JSON.stringify({ action: "ping" }));
      }
    }, KEEPALIVE_MS);
    setStatus("connected", `Connected as ${state.name}`);
    // After a reconnect too: history fills any gap, and upsert keeps one copy.
    request({ action: "history" });
  });
  socket.addEventListener("message", (event) => {
    let frame;
    try { frame = JSON.parse(event.data); } catch { return; }
    receive(frame);
  });
  let opened = false;
  socket.addEventListener("open", () => { opened = true; });
  socket.addEventListener("close", () => {
    clearTimeout(handshake);
    if (state.socket !== socket) return;
    clearInterval(state.keepAliveTimer);
    if (state.leaving) return;
    scheduleReconnect(opened, timedOut);
  });
}

// Exponential backoff with full jitter, capped. A handshake refused before
// it opened is most often a cap (the browser cannot read the 429): say so.
function scheduleReconnect(wasOpen, timedOut) {
  const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** state.attempt);
  const delay = Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
  state.attempt += 1;
  const why = timedOut
    ? "The chat did not answer."
    : wasOpen
      ? "Connection lost."
      : "Could not join: the room may be full, or too many tabs are open from your network.";
  setStatus("reconnecting", `${why} Reconnecting in ${Math.ceil(delay / 1000)} s…`);
  state.reconnectTimer = setTimeout(connect, delay);
}

function request(frame) {
  if (!state.socket || state.socket.readyState !== WebSocket.OPEN) {
    notify("Not connected yet; try again in a moment.");
    return false;
  }
  state.socket.send(JSON.stringify(frame));
  return true;
}

function receive(frame) {
  switch (frame.type) {
    case "history":
      if (frame.presence) showPresence(frame.presence);
      if (frame.you && frame.you.token) stored.set(tokenKey(state.room), frame.you.token);
      if (frame.you) state.me = frame.you;
      // A subscription lapses 90 days after it was last stored: renewed
      // once a visit (quietly: no prompt without a click).
      if (!state.renewed.has(state.room) && pushSupported() && stored.get(pushKey(state.room)) === "on") {
        state.renewed.add(state.room);
        startNotifications(false).catch(() => {});
      }
      if (Number.isFinite(frame.now)) state.clockOffset = frame.now - Date.now() / 1000;
      for (const message of frame.messages) state.messages.set(message.id, message);
      // The page just received says where the next older one starts. After
      // a reconnect that is the newest page's cursor again: paging back
      // re-reads pages already shown, which upsert by id keeps single.
      state.nextCursor = frame.next_cursor;
      redraw();
      break;
    case "message":
    case "edited":
      upsert(frame.message);
      break;
    case "deleted":
      state.messages.delete(frame.id);
      $(`m-${frame.id}`)?.remove();
      break;
    case "sent":
      rememberMine(state.room, frame.id);
      if (state.messages.has(frame.id)) upsert(state.messages.get(frame.id));
      break;
    case "error":
      notify(errorText(frame));
      break;
    case "presence":
      showPresence(frame);
      break;
    case "pong":
      break;
    case "moderated":
      notify(frame.op === "delete" ? "Message removed." : `${frame.target}: ${frame.count} connection(s) closed.`);
      break;
    default:
      // API Gateway's own answers have no type: a throttled frame is
      // {"message":"Too Many Requests",...}. Shown, not dropped.
      if (!frame.type && typeof frame.message === "string") {
        notify(`The chat is busy (${frame.message}); that was not sent. Try again in a moment.`);
      }
      break;
  }
}

// Who is in the room: a count and the names (a room too big to list says
// how many at least). Names are text, never HTML.
function showPresence(presence) {
  const count = presence.count;
  $("presence-count").textContent = !presence.complete ? `${count}+ people here`
    : count === 0 ? "Nobody here"
      : `${count} ${count === 1 ? "person" : "people"} here`;
  const list = $("people");
  list.replaceChildren(...presence.people.map((name) => {
    const item = document.createElement("li");
    item.textContent = name;
    if (state.me?.moderator && name !== state.name) {
      const disconnect = document.createElement("button");
      disconnect.type = "button";
      disconnect.className = "link moderate";
      disconnect.textContent = "Disconnect";
      disconnect.setAttribute("aria-label", `Disconnect ${name} (moderator)`);
      disconnect.addEventListener("click", () => request({ action: "moderate", op: "disconnect", name }));
      item.append(" ", disconnect);
    }
    return item;
  }));
}

function errorText(frame) {
  switch (frame.code) {
    case "rate_limited": return `Slow down: ${frame.message}.`;
    case "forbidden":
      if (frame.field !== "id") return frame.message;
      return `Only the author can change a message, within ${Math.round(state.config.editWindowSeconds / 60)} minutes.`;
    default: return frame.message || "Something went wrong.";
  }
}

// ---------------------------------------------------------------- compose --
const encoder = new TextEncoder();

function updateCounter() {
  const max = state.config.maxMessageBytes;
  const used = encoder.encode($("text").value).length;
  const counter = $("counter");
  counter.textContent = `${used} / ${max} bytes`;
  counter.dataset.over = String(used > max);
  $("send").disabled = used > max;
  if (used > max) notify(`Too long: ${used - max} bytes over the limit.`);
  else if ($("notice").textContent.startsWith("Too long")) notify("");
}

function startEdit(id) {
  const message = state.messages.get(id);
  if (!message) return;
  state.editing = id;
  $("text").value = message.text;
  $("send").textContent = "Save edit";
  $("cancel-edit").hidden = false;
  $("text").focus();
  updateCounter();
}

function stopEdit() {
  state.editing = null;
  $("text").value = "";
  $("send").textContent = "Send";
  $("cancel-edit").hidden = true;
  updateCounter();
}

function submit(event) {
  event.preventDefault();
  const text = $("text").value;
  if (!text.trim()) return;
  notify("");
  const frame = state.editing
    ? { action: "edit", id: state.editing, text }
    : { action: "send", text };
  if (request(frame)) stopEdit();
}

// ----------------------------------------------------------- notifications --
// "Notify me" subscribes this browser with the Push API (the stack's VAPID
// public key from config.json) and stores the subscription for the room
// through the HTTP API, with the room's author token: the notify function
// then pushes each new message there, unless this person is connected to
// the room. /sw.js shows it. One browser subscription serves every room;
// "Stop notifications" removes this room's.
const pushKey = (room) => `chat.push.${room}`;

function pushSupported() {
  return "serviceWorker" in navigator && "PushManager" in window && "Notification" in window
    && Boolean(state.config && state.config.vapidPublicKey);
}

function keyBytes(base64url) {
  const base64 = base64url.replace(/-/g, "+").replace(/_/g, "/");
  const raw = atob(base64 + "=".repeat((4 - (base64.length % 4)) % 4));
  return Uint8Array.from(raw, (c) => c.charCodeAt(0));
}

function sameKey(buffer, base64url) {
  if (!buffer) return false;
  const a = new Uint8Array(buffer);
  const b = keyBytes(base64url);
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

function showNotifyButton() {
  const button = $("notify-me");
  button.hidden = !pushSupported();
  const on = stored.get(pushKey(state.room)) === "on";
  button.textContent = on ? "Stop notifications" : "Notify me";
  button.setAttribute("aria-pressed", String(on));
}

async function subscriptionRequest(method, body) {
  const response = await fetch(`/api/rooms/${encodeURIComponent(state.room)}/subscriptions`, {
    method,
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  if (response.ok) return;
  let message = `HTTP ${response.status}`;
  try { message = (await response.json()).error.message || message; } catch { /* not JSON */ }
  throw new Error(message);
}

// This browser's push subscription, made with the stack's current key: one
// made with an earlier key (the key was rotated) is replaced.
async function browserSubscription() {
  const registration = await navigator.serviceWorker.register("/sw.js");
  await navigator.serviceWorker.ready;
  let subscription = await registration.pushManager.getSubscription();
  if (subscription && !sameKey(subscription.options.applicationServerKey, state.config.vapidPublicKey)) {
    await subscription.unsubscribe();
    subscription = null;
  }
  return subscription || registration.pushManager.subscribe({
    userVisibleOnly: true,
    applicationServerKey: keyBytes(state.config.vapidPublicKey),
  });
}

async function startNotifications(asked) {
  const token = stored.get(tokenKey(state.room));
  if (!token) {
    if (asked) notify("Connecting; try again in a moment.");
    return;
  }
  const permission = asked ? await Notification.requestPermission() : Notification.permission;
  if (permission !== "granted") {
    stored.set(pushKey(state.room), "");
    if (asked) notify("Notifications are blocked for this site: allow them in the browser's site settings.");
    showNotifyButton();
    return;
  }
  const subscription = await browserSubscription();
  await subscriptionRequest("POST", { token, subscription: subscription.toJSON() });
  stored.set(pushKey(state.room), "on");
  showNotifyButton();
}

async function stopNotifications() {
  const token = stored.get(tokenKey(state.room));
  const registration = await navigator.serviceWorker.getRegistration("/");
  const subscription = registration && await registration.pushManager.getSubscription();
  if (token && subscription) {
    await subscriptionRequest("DELETE", { token, endpoint: subscription.endpoint });
  }
  stored.set(pushKey(state.room), "");
  showNotifyButton();
}

function toggleNotifications() {
  const on = stored.get(pushKey(state.room)) === "on";
  (on ? stopNotifications() : startNotifications(true))
    .catch((error) => notify(`Notifications: ${error.message}`));
}

// ------------------------------------------------------------------- join --
function join(name, room) {
  state.name = name;
  state.room = room;
  state.messages.clear();
  state.nextCursor = null;
  state.leaving = false;
  showPresence({ count: 0, people: [], complete: true });
  stored.set("chat.name", name);
  $("join").hidden = true;
  $("chat").hidden = false;
  $("room-title").textContent = `#${room}`;
  showNotifyButton();
  document.title = `#${room} · Chat`;
  history.replaceState(null, "", `#${encodeURIComponent(room)}`);
  updateCounter();
  connect();
  $("text").focus();
}

function leave() {
  state.leaving = true;
  clearTimeout(state.reconnectTimer);
  state.socket?.close();
  state.socket = null;
  $("chat").hidden = true;
  $("join").hidden = false;
  history.replaceState(null, "", location.pathname);
}

async function main() {
  // The form is the page's own from the first moment: a Join before
  // config.json arrives waits for it, instead of submitting the plain form.
  const configured = loadConfig();
  const joinForm = $("join");
  $("join-name").value = stored.get("chat.name") || "";
  const fromHash = decodeURIComponent(location.hash.slice(1));
  if (ROOM_PATTERN.test(fromHash)) $("join-room").value = fromHash;
  joinForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const room = $("join-room").value.trim();
    if (state.config?.signIn && !account.session && ROOM_PATTERN.test(room)) {
      location.assign(account.signInUrl(room)); // back here, signed in
      return;
    }
    const name = account.session ? account.session.name : $("join-name").value.trim();
    if (!name || !ROOM_PATTERN.test(room)) {
      $("join-room").setCustomValidity(ROOM_PATTERN.test(room) ? "" : "Use a-z, 0-9 and '-'.");
      joinForm.reportValidity();
      return;
    }
    try {
      state.config = await configured;
    } catch {
      joinForm.submit(); // no live chat: the room's plain page
      return;
    }
    join(name, room);
  });
  $("join-room").addEventListener("input", () => $("join-room").setCustomValidity(""));
  try {
    state.config = await configured;
  } catch (error) {
    // Without endpoints the live chat cannot start; the room pages still work.
    const problem = document.createElement("p");
    problem.className = "notice";
    problem.textContent = `The live chat is unavailable (${error.message}). The room pages still work.`;
    joinForm.after(problem);
    return;
  }
  const roomField = $("join-room");
  if (!ROOM_PATTERN.test(fromHash) && roomField.value === roomField.defaultValue) {
    roomField.value = state.config.defaultRoom || "general";
  }
  if (state.config.signIn) {
    await account.load().catch(() => null);
    account.show(roomField.value);
    roomField.addEventListener("input", () => account.show(roomField.value));
    // Back from the sign-in page: straight into the room.
    if (account.session && ROOM_PATTERN.test(fromHash)) join(account.session.name, fromHash);
  }
  $("compose").addEventListener("submit", submit);
  $("text").addEventListener("input", updateCounter);
  $("text").addEventListener("keydown", (event) => {
    // Enter sends, Shift+Enter starts a new line.
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      $("compose").requestSubmit();
    }
    if (event.key === "Escape" && state.editing) stopEdit();
  });
  $("cancel-edit").addEventListener("click", stopEdit);
  $("leave").addEventListener("click", leave);
  $("notify-me").addEventListener("click", toggleNotifications);
  $("older").addEventListener("click", () => request({ action: "history", cursor: state.nextCursor }));
}

main();
