/**
 * Drives TbSync 5 and EAS-4-TbSync in a running Thunderbird the way a user does, from chrome-context
 * Marionette scripts: the TbSync manager tab (its page talks to TbSync's background over the
 * "tbsync-manager" port, TbSync 5.x modules/manager-client.mjs), "Add account" for the EAS
 * provider, which opens EAS-4-TbSync's setup window (dialogs/setup/setup.html: "Custom EAS
 * server", label, server, user, password, Submit), then Connect, the folder check boxes and
 * Synchronize (the manager's rpc commands addAccount, setAccountEnabled, setFolderSelected,
 * syncAccount, getState, getFolders). Nothing in the add-ons is changed or called behind their UI's
 * back except through that same port.
 */
import type { Marionette } from './marionette.ts';

/** A chrome-context script body, run as `async` with `args`; helpers for the manager tab. */
const PRELUDE = `
const args = arguments[0];
const main = Services.wm.getMostRecentWindow("mail:3pane");
const sleep = (ms) => new Promise((r) => main.setTimeout(r, ms));
const managerUrl = WebExtensionPolicy.getByID("tbsync@jobisoft.de").getURL("manager/manager.html");
function managerWindow() {
  const tabmail = main.document.getElementById("tabmail");
  const tab = tabmail.tabInfo.find((t) => t.browser?.currentURI?.spec === managerUrl);
  return tab?.browser.contentWindow;
}
async function rpc(cmd, a = {}) {
  const cw = managerWindow().wrappedJSObject;
  return JSON.parse(JSON.stringify(await cw.__easdRpc(cmd, Cu.cloneInto(a, cw))));
}
`;

async function run<T>(m: Marionette, body: string, args: unknown = {}): Promise<T> {
  return m.execute<T>(`${PRELUDE}\nreturn (async () => {\n${body}\n})();`, [args]);
}

export interface TbFolder {
  folderId: string;
  targetType: string | null;
  displayName: string;
  selected: boolean;
  targetID: string | null;
  error: unknown;
  status: unknown;
  lastSyncTime: number;
}

export interface TbAccount {
  accountId: string;
  enabled: boolean;
  error: unknown;
  lastSyncTime: number;
  custom: Record<string, unknown>;
}

export interface TbState {
  accounts: TbAccount[];
  eventLog: Array<{ level: string; message: string; details?: unknown }>;
  transient: { syncingAccounts: string[]; busyAccounts: string[]; settingUpAccounts: string[] };
}

/** Opens TbSync's account manager in a tab (as its menu entry does) and waits until it is connected. */
export async function openTbSyncManager(m: Marionette, deadline: number): Promise<void> {
  await run(
    m,
    `
    if (!managerWindow()) main.openTab("contentTab", { url: managerUrl, background: false });
    while (Date.now() < args.deadline) {
      const cw = managerWindow();
      if (cw && cw.location.href === managerUrl && cw.document.readyState === "complete" && cw.wrappedJSObject.browser) break;
      await sleep(250);
    }
    const cw = managerWindow();
    if (!cw?.wrappedJSObject.browser) throw new Error("TbSync manager did not load");
    // A second client of the manager port, like the page's own (modules/manager-client.mjs):
    // the page's module scope is not reachable, its extension API is.
    const sb = Cu.Sandbox(cw, { sandboxPrototype: cw, wantXrays: false });
    Cu.evalInSandbox(\`
      const port = browser.runtime.connect({ name: "tbsync-manager" });
      const pending = new Map();
      let next = 0;
      port.onMessage.addListener((msg) => {
        if (msg.kind !== "rpc-response") return;
        const p = pending.get(msg.requestId);
        if (!p) return;
        pending.delete(msg.requestId);
        if (msg.ok) p.resolve(msg.result);
        else p.reject(new Error(msg.error + (msg.errorCode ? " (" + msg.errorCode + ")" : "")));
      });
      window.__easdRpc = (cmd, args) => new Promise((resolve, reject) => {
        const requestId = "easd-test-" + ++next;
        pending.set(requestId, { resolve, reject });
        port.postMessage({ kind: "rpc", requestId, cmd, args });
      });\`, sb);
    while (Date.now() < args.deadline) {
      const s = await rpc("getState");
      if (s.providers.some((p) => p.providerId === "eas" && p.state === "active")) return;
      await sleep(250);
    }
    throw new Error("EAS-4-TbSync did not register with TbSync");`,
    { deadline },
  );
}

export function tbsyncState(m: Marionette): Promise<TbState> {
  return run(m, 'return await rpc("getState");');
}

export async function tbsyncFolders(m: Marionette, accountId: string): Promise<TbFolder[]> {
  return (await run<{ folders: TbFolder[] }>(m, 'return await rpc("getFolders", { accountId: args.accountId });', { accountId })).folders;
}

/**
 * "Add account" -> Exchange ActiveSync -> "Custom EAS server": fills the setup window and submits
 * it. Returns the new account's id. The setup window is given a focus event: without a window
 * manager (headless) none arrives, and Thunderbird's windows.create() waits for one before the
 * add-on learns the window exists (mail/components/extensions/parent/ext-windows.js).
 */
export async function addEasAccount(m: Marionette, a: { label: string; server: string; user: string; password: string }, deadline: number): Promise<string> {
  return run<string>(
    m,
    `
    let result, failure;
    rpc("addAccount", { providerId: "eas" }).then((r) => (result = r), (e) => (failure = e));
    let popup;
    while (!popup && Date.now() < args.deadline && !failure) {
      await sleep(250);
      for (const w of Services.wm.getEnumerator(null)) {
        for (const b of w.document.querySelectorAll("browser")) {
          const cw = b.contentWindow;
          const href = cw?.location?.href ?? "";
          if (href.includes("/dialogs/setup/setup.html") && href.includes("setupToken") && b.contentDocument.readyState === "complete" && b.contentDocument.getElementById("btn-submit")?.textContent) popup = { w, b };
        }
      }
    }
    if (failure) throw failure;
    if (!popup) throw new Error("the EAS setup window did not open");
    popup.w.dispatchEvent(new popup.w.FocusEvent("focus"));
    const doc = popup.b.contentDocument;
    doc.querySelector("#account-type .dropdown-trigger").click();
    doc.querySelector('#account-type li[data-value="custom"]').click();
    const set = (id, v) => { const e = doc.getElementById(id); e.value = v; e.dispatchEvent(new popup.b.contentWindow.Event("input", { bubbles: true })); };
    set("account-name", args.label);
    set("server", args.server);
    set("user", args.user);
    set("password", args.password);
    doc.getElementById("btn-submit").click();
    let shown = "";
    while (result === undefined && !failure && Date.now() < args.deadline) {
      await sleep(250);
      try { shown = doc.getElementById("error")?.textContent ?? shown; } catch {}
    }
    if (failure) throw failure;
    if (result === undefined) throw new Error("account setup did not finish: " + shown);
    return result.accountId;`,
    { ...a, deadline },
  );
}

/** Polls until `done(state)` holds or the deadline passes (then throws with the event log). */
async function waitState(m: Marionette, what: string, deadline: number, done: (s: TbState) => boolean): Promise<TbState> {
  let s = await tbsyncState(m);
  while (!done(s)) {
    if (Date.now() > deadline) throw new Error(`${what}: timed out; TbSync event log: ${JSON.stringify(s.eventLog.slice(-8))}`);
    await new Promise((r) => setTimeout(r, 500));
    s = await tbsyncState(m);
  }
  return s;
}

/** "Connect": enables the account; TbSync runs OPTIONS, Provision and FolderSync. Returns the folders. */
export async function connectAccount(m: Marionette, accountId: string, deadline: number): Promise<TbFolder[]> {
  await run(m, 'await rpc("setAccountEnabled", { accountId: args.accountId, enabled: true });', { accountId });
  for (;;) {
    const folders = await tbsyncFolders(m, accountId);
    const s = await tbsyncState(m);
    const busy = s.transient.syncingAccounts.includes(accountId) || s.transient.busyAccounts.includes(accountId);
    if (folders.some((f) => f.targetType) && !busy) return folders;
    if (Date.now() > deadline) throw new Error(`connect: no folders; TbSync event log: ${JSON.stringify(s.eventLog.slice(-8))}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** Ticks the check box of each folder whose target type (contacts, calendars, tasks) is listed. */
export async function selectFolders(m: Marionette, accountId: string, types: string[]): Promise<void> {
  for (const f of await tbsyncFolders(m, accountId)) {
    if (f.targetType && types.includes(f.targetType) && !f.selected) {
      await run(m, 'await rpc("setFolderSelected", { accountId: args.accountId, folderId: args.folderId, selected: true });', { accountId, folderId: f.folderId });
    }
  }
}

/** "Synchronize now", then waits for the sync to end; throws when TbSync reports an error. */
export async function syncAccount(m: Marionette, accountId: string, deadline: number): Promise<void> {
  const before = (await tbsyncState(m)).accounts.find((a) => a.accountId === accountId)?.lastSyncTime ?? 0;
  await run(m, 'await rpc("syncAccount", { accountId: args.accountId });', { accountId });
  const s = await waitState(m, 'sync', deadline, (st) => {
    const acc = st.accounts.find((a) => a.accountId === accountId);
    return !!acc && !st.transient.syncingAccounts.includes(accountId) && (acc.lastSyncTime > before || !!acc.error);
  });
  const acc = s.accounts.find((a) => a.accountId === accountId)!;
  const folderErrors = (await tbsyncFolders(m, accountId)).filter((f) => f.selected && f.error);
  if (acc.error || folderErrors.length) {
    throw new Error(`TbSync sync failed: ${JSON.stringify(acc.error)} ${JSON.stringify(folderErrors)}; log: ${JSON.stringify(s.eventLog.slice(-8))}`);
  }
}
