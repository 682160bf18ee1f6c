// The served console's page: the websocket address from this page's own address (so it works
// behind an HTTPS proxy), and what became of each copy the console asked the browser for.
"use strict";
(function () {
  const clip = () => document.getElementById("clip");
  function say(text, kind) {
    const el = clip();
    if (!el) return;
    el.textContent = text;
    el.className = "clip " + (kind || "");
  }
  function time() {
    return new Date().toTimeString().slice(0, 8);
  }
  const bad = "浏览器拒绝了复制 the browser refused the copy: ";
  const fix = "select the preview text (Shift+drag) and copy it by hand";

  // Copy with a hidden text area, for pages that are not a secure context (no
  // navigator.clipboard there); works only while the agent's key press is recent.
  function legacyCopy(text) {
    const area = document.createElement("textarea");
    area.value = text;
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    let ok = false;
    try {
      ok = document.execCommand("copy");
    } catch (e) {
      ok = false;
    }
    area.remove();
    const term = document.querySelector(".xterm-helper-textarea");
    if (term) term.focus();
    return ok;
  }

  const original = navigator.clipboard && navigator.clipboard.writeText
    ? navigator.clipboard.writeText.bind(navigator.clipboard) : null;
  async function writeText(text) {
    if (original) {
      try {
        await original(text);
        say("已复制 copied " + time(), "ok");
        return;
      } catch (e) {
        if (legacyCopy(text)) {
          say("已复制 copied " + time(), "ok");
          return;
        }
        say(bad + fix, "bad");
        return;
      }
    }
    if (legacyCopy(text)) {
      say("已复制 copied " + time() + " (not HTTPS: use HTTPS for a dependable clipboard)", "ok");
    } else {
      say(bad + "this page is not HTTPS or localhost; " + fix, "bad");
    }
  }
  try {
    if (navigator.clipboard) {
      navigator.clipboard.writeText = writeText;
    } else {
      Object.defineProperty(navigator, "clipboard", {
        value: { writeText: writeText, readText: async () => "" },
        configurable: true,
      });
    }
  } catch (e) {
    // leave the browser's own clipboard alone
  }

  // The server refuses a second console of the same agent with close code 4409.
  const NativeWebSocket = window.WebSocket;
  function WatchedWebSocket(url, protocols) {
    const ws = protocols === undefined
      ? new NativeWebSocket(url) : new NativeWebSocket(url, protocols);
    ws.addEventListener("close", function (event) {
      if (event.code === 4409) {
        const why = document.getElementById("closed-why");
        if (why) {
          why.textContent = "这个账号的工作台已在另一个标签页打开 This agent's console is " +
            "already open in another tab or browser: one console per agent, so one claim. " +
            "Close it there, then open it here again.";
        }
      }
    });
    return ws;
  }
  WatchedWebSocket.prototype = NativeWebSocket.prototype;
  Object.assign(WatchedWebSocket, {
    CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3,
  });
  window.WebSocket = WatchedWebSocket;

  document.addEventListener("DOMContentLoaded", function () {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const term = document.getElementById("terminal");
    if (term) term.dataset.sessionWebsocketUrl = scheme + "//" + location.host + "/ws";
    if (!window.isSecureContext) {
      say("不是安全连接 not HTTPS: copying may fail; " + fix, "bad");
    } else {
      say("复制会进入剪贴板 copies go to your clipboard");
    }
  });
})();
