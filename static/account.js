// Sign-in (config.json's signIn, `auth` in chatctl.yaml): the session is an
// HttpOnly cookie the chat's own /api/auth/ routes set after Cognito's
// hosted sign-in page; the page asks /api/auth/session who is signed in and
// keeps the ID token it answers with in memory only, for the WebSocket
// handshake. Loaded before app.js, which uses `account`.
"use strict";

const account = {
  // { name, moderator, id_token, expires_at } while signed in.
  session: null,
  renewTimer: null,

  // Who is signed in. The server renews an ID token in its last five
  // minutes from the refresh token, so the page asks again then: a
  // reconnect always has a token that is still good.
  async load() {
    const response = await fetch("/api/auth/session", { cache: "no-store", credentials: "same-origin" });
    if (!response.ok) throw new Error(`sign-in: HTTP ${response.status}`);
    const body = await response.json();
    account.session = body.signed_in ? body : null;
    clearTimeout(account.renewTimer);
    if (account.session) {
      const renewIn = Math.max(account.session.expires_at * 1000 - Date.now() - 4 * 60 * 1000, 60 * 1000);
      account.renewTimer = setTimeout(() => account.load().catch(() => {}), renewIn);
    }
    return account.session;
  },

  // Back to this room after signing in.
  signInUrl(room) {
    return `/api/auth/signin?return=${encodeURIComponent(`/#${room}`)}`;
  },

  expired() {
    return !account.session || account.session.expires_at * 1000 <= Date.now();
  },

  // The Sign in link or who is signed in with Sign out; the name field
  // shows the signed-in name, which cannot be changed.
  show(room) {
    const signedIn = Boolean(account.session);
    document.getElementById("account").hidden = false;
    const signIn = document.getElementById("sign-in");
    signIn.hidden = signedIn;
    signIn.href = account.signInUrl(room || "general");
    document.getElementById("sign-out").hidden = !signedIn;
    document.getElementById("signed-in-as").textContent = signedIn ? `Signed in as ${account.session.name}` : "";
    const name = document.getElementById("join-name");
    name.readOnly = signedIn;
    name.required = false; // the name comes from the sign-in
    if (signedIn) name.value = account.session.name;
    name.closest("label").hidden = !signedIn;
  },
};
