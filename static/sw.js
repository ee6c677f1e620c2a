// The service worker for notifications: the notify function's Web Push
// messages become a notification (room, name, the text shortened), and a
// click opens the room, or focuses a tab already showing it. The page
// registers it when a person asks to be notified (app.js).
"use strict";

const ROOM_PATTERN = /^[a-z0-9-]{1,32}$/;
const BODY_CHARS = 160;

function shortened(text) {
  const chars = Array.from(String(text || ""));
  return chars.length > BODY_CHARS ? chars.slice(0, BODY_CHARS).join("") + "…" : chars.join("");
}

self.addEventListener("push", (event) => {
  let data = {};
  try {
    data = event.data ? event.data.json() : {};
  } catch {
    data = {};
  }
  const room = ROOM_PATTERN.test(data.room) ? data.room : "general";
  const title = data.name ? `#${room} · ${data.name}` : `#${room}`;
  event.waitUntil(self.registration.showNotification(title, {
    body: shortened(data.text),
    // One notification per message: a push delivered twice shows once.
    tag: typeof data.id === "string" ? `message-${data.id}` : `room-${room}`,
    data: { room, url: `/#${room}` },
  }));
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const room = event.notification.data && event.notification.data.room;
  const url = new URL(ROOM_PATTERN.test(room) ? `/#${room}` : "/", self.location.origin).href;
  event.waitUntil((async () => {
    const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
    const open = windows.find((client) => client.url === url);
    if (open) return open.focus();
    return self.clients.openWindow(url);
  })());
});
