// Coach Connect messaging: the live unread badge on every page and the open conversation.
//
// Messages are ordered by a per-thread sequence number that the server gives without gaps
// in commit order. The page keeps `lastSeq`, the highest seq up to which it has every
// message; anything newer is fetched with `?after=lastSeq`. So a message that arrives twice
// (socket and poll) is shown once, and a gap is always filled: nothing is lost or doubled,
// whether the socket is up, down, or reconnecting.
(() => {
  "use strict";

  const HIDDEN_TEXT = "This message was hidden by a moderator.";
  const POLL_MS = 3000;

  function csrfToken() {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  function setBadge(count) {
    const badge = document.getElementById("unread-badge");
    if (!badge) return;
    badge.dataset.count = String(count);
    badge.textContent = count > 0 ? String(count) : "";
  }

  function socketUrl(path) {
    const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
    return `${scheme}//${window.location.host}${path}`;
  }

  // A WebSocket that reconnects with backoff and reports when it is up or down.
  class LiveSocket {
    constructor(path, handlers) {
      this.path = path;
      this.handlers = handlers;
      this.delay = 1000;
      this.stopped = false;
      this.connect();
    }

    connect() {
      const socket = new WebSocket(socketUrl(this.path));
      this.socket = socket;
      socket.addEventListener("open", () => {
        this.delay = 1000;
        document.documentElement.dataset.messagingSocket = "open";
        this.pinger = window.setInterval(() => {
          if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ kind: "ping" }));
        }, 25000);
        if (this.handlers.open) this.handlers.open();
      });
      socket.addEventListener("message", (event) => {
        let payload;
        try {
          payload = JSON.parse(event.data);
        } catch (error) {
          return;
        }
        this.handlers.event(payload);
      });
      socket.addEventListener("close", () => {
        window.clearInterval(this.pinger);
        document.documentElement.dataset.messagingSocket = "closed";
        if (this.handlers.close) this.handlers.close();
        if (this.stopped) return;
        window.setTimeout(() => this.connect(), this.delay);
        this.delay = Math.min(this.delay * 2, 5000);
      });
    }
  }

  function handleUserEvent(payload) {
    if (payload.kind !== "unread") return;
    setBadge(payload.count);
    const cell = document.querySelector(`[data-thread-unread="${Number(payload.thread)}"]`);
    if (cell) {
      cell.textContent = payload.thread_unread > 0 ? String(payload.thread_unread) : "";
      const row = cell.closest("tr");
      if (row) row.classList.toggle("unread", payload.thread_unread > 0);
    } else if (document.getElementById("inbox-live") && payload.thread_unread > 0) {
      document.getElementById("inbox-live").textContent =
        "You have a new conversation. Reload the page to see it.";
    }
  }

  function element(tag, attributes, text) {
    const node = document.createElement(tag);
    Object.entries(attributes || {}).forEach(([name, value]) => node.setAttribute(name, value));
    if (text !== undefined) node.textContent = text;
    return node;
  }

  class Conversation {
    constructor(root) {
      this.root = root;
      this.list = document.getElementById("message-list");
      this.me = Number(root.dataset.user);
      this.participant = root.dataset.participant === "1";
      this.otherReadSeq = Number(root.dataset.otherReadSeq) || 0;
      this.have = new Set(
        Array.from(this.list.querySelectorAll("li[data-seq]"), (li) => Number(li.dataset.seq)),
      );
      this.lastSeq = Number(root.dataset.lastSeq) || 0;
      this.status = document.getElementById("connection-status");
      this.formatter = new Intl.DateTimeFormat("en-GB", {
        timeZone: root.dataset.timeZone || undefined,
        day: "numeric",
        month: "short",
        year: "numeric",
        hour: "2-digit",
        minute: "2-digit",
        timeZoneName: "short",
      });
      this.catchingUp = null;
      this.pollTimer = null;
      this.readTimer = null;
      this.setupForm();
      document.addEventListener("visibilitychange", () => this.markRead());
      this.socket = new LiveSocket(root.dataset.wsPath, {
        open: () => this.online(),
        close: () => this.offline(),
        event: (payload) => this.onEvent(payload),
      });
    }

    online() {
      window.clearInterval(this.pollTimer);
      this.pollTimer = null;
      this.status.textContent = "";
      this.root.dataset.live = "socket";
      // Anything sent between page load (or the drop) and this subscription.
      this.catchUp();
    }

    offline() {
      this.root.dataset.live = "polling";
      this.status.textContent = "Live updates paused: checking for new messages every few seconds.";
      if (!this.pollTimer) this.pollTimer = window.setInterval(() => this.catchUp(), POLL_MS);
    }

    onEvent(payload) {
      if (payload.kind === "message") {
        this.receive(payload.message);
      } else if (payload.kind === "hidden") {
        this.hide(payload.message);
      } else if (payload.kind === "read") {
        if (Number(payload.user) !== this.me) this.setOtherRead(Number(payload.seq));
      } else if (payload.kind === "unread") {
        handleUserEvent(payload);
      }
    }

    receive(message) {
      this.add(message);
      if (message.seq > this.lastSeq) this.catchUp();
      this.markRead();
    }

    // Fetch every message after lastSeq, page by page; concurrent calls share one run.
    catchUp() {
      if (this.catchingUp) {
        this.catchAgain = true;
        return this.catchingUp;
      }
      this.catchingUp = (async () => {
        try {
          let more = true;
          while (more) {
            const response = await fetch(
              `${this.root.dataset.apiUrl}?after=${this.lastSeq}&limit=100`,
              { credentials: "same-origin", headers: { Accept: "application/json" } },
            );
            if (!response.ok) return;
            const page = await response.json();
            page.messages.forEach((message) => this.add(message));
            this.setOtherRead(page.other_read_seq);
            more = page.has_more && page.messages.length > 0;
          }
          this.markRead();
        } catch (error) {
          // Offline: the next poll or reconnect tries again.
        } finally {
          this.catchingUp = null;
          if (this.catchAgain) {
            this.catchAgain = false;
            this.catchUp();
          }
        }
      })();
      return this.catchingUp;
    }

    add(message) {
      const seq = Number(message.seq);
      if (this.have.has(seq)) {
        if (message.hidden) this.hide(message);
        return;
      }
      const item = this.build(message);
      const after = Array.from(this.list.children).find((li) => Number(li.dataset.seq) > seq);
      this.list.insertBefore(item, after || null);
      this.have.add(seq);
      while (this.have.has(this.lastSeq + 1)) this.lastSeq += 1;
      document.getElementById("empty-state").hidden = true;
    }

    build(message) {
      const mine = Number(message.sender.id) === this.me;
      const item = element("li", {
        class: mine ? "message message-mine" : "message",
        id: `message-${message.seq}`,
        "data-seq": String(message.seq),
        "data-id": String(message.id),
        "data-sender": String(message.sender.id),
      });
      const meta = element("p", { class: "message-meta" });
      meta.append(element("strong", { class: "message-author" }, message.sender.name), " ");
      meta.append(
        element("time", { datetime: message.created_at }, this.formatter.format(new Date(message.created_at))),
      );
      item.append(meta);
      if (message.hidden) {
        item.append(element("p", { class: "message-body message-hidden" }, HIDDEN_TEXT));
      } else {
        if (message.body) {
          const body = element("div", { class: "message-body" });
          // body_html is escaped on the server (Django's urlize with autoescape).
          body.innerHTML = message.body_html;
          item.append(body);
        }
        if (message.attachment) item.append(this.buildAttachment(message.attachment));
      }
      if (mine) {
        const seen = element("p", { class: "seen" }, "Seen");
        seen.hidden = message.seq > this.otherReadSeq;
        item.append(seen);
      } else if (this.participant && !message.hidden) {
        item.append(this.buildReport(message));
      }
      return item;
    }

    buildAttachment(attachment) {
      const paragraph = element("p", { class: "message-attachment" });
      const link = element("a", { href: attachment.url });
      if (attachment.is_image) {
        link.append(element("img", { src: attachment.url, alt: `Attachment: ${attachment.name}` }));
        paragraph.append(link);
      } else {
        link.textContent = attachment.name;
        paragraph.append(link, " ", element("span", { class: "muted" }, "(PDF)"));
      }
      return paragraph;
    }

    buildReport(message) {
      const details = element("details", { class: "report" });
      details.append(element("summary", {}, "Report"));
      const action = this.root.dataset.reportUrl.replace(/\/0\/report\/$/, `/${Number(message.id)}/report/`);
      const form = element("form", { method: "post", action });
      form.append(element("input", { type: "hidden", name: "csrfmiddlewaretoken", value: csrfToken() }));
      const id = `report-reason-${Number(message.seq)}`;
      form.append(element("label", { for: id }, "What is wrong with this message?"));
      form.append(element("textarea", { id, name: "reason", rows: "2", maxlength: "1000", required: "" }));
      form.append(element("button", { type: "submit", class: "button-small" }, "Send report"));
      details.append(form);
      return details;
    }

    hide(message) {
      const item = document.getElementById(`message-${Number(message.seq)}`);
      if (!item) return;
      item.querySelectorAll(".message-body, .message-attachment, details.report").forEach((n) => n.remove());
      const meta = item.querySelector(".message-meta");
      meta.after(element("p", { class: "message-body message-hidden" }, HIDDEN_TEXT));
    }

    setOtherRead(seq) {
      if (!(seq > this.otherReadSeq)) return;
      this.otherReadSeq = seq;
      this.list.querySelectorAll("li.message-mine").forEach((item) => {
        const seen = item.querySelector(".seen");
        if (seen) seen.hidden = Number(item.dataset.seq) > this.otherReadSeq;
      });
    }

    markRead() {
      if (!this.participant || document.visibilityState !== "visible") return;
      window.clearTimeout(this.readTimer);
      this.readTimer = window.setTimeout(() => {
        const upTo = this.lastSeq;
        if (upTo <= (this.readSeq || 0)) return;
        fetch(this.root.dataset.readUrl, {
          method: "POST",
          credentials: "same-origin",
          headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
          body: JSON.stringify({ up_to_seq: upTo }),
        })
          .then((response) => (response.ok ? response.json() : null))
          .then((result) => {
            if (!result) return;
            this.readSeq = result.last_read_seq;
            setBadge(result.unread_messages);
          })
          .catch(() => {});
      }, 150);
    }

    setupForm() {
      const form = document.getElementById("send-form");
      if (!form) return;
      const error = document.getElementById("send-error");
      const button = form.querySelector('button[type="submit"]');
      form.addEventListener("submit", async (event) => {
        event.preventDefault();
        const data = new FormData(form);
        const file = data.get("attachment");
        const hasFile = file && file.size > 0;
        if (!hasFile) data.delete("attachment");
        error.hidden = true;
        if (!String(data.get("body") || "").trim() && !hasFile) {
          error.textContent = "Write a message or attach a file.";
          error.hidden = false;
          return;
        }
        if (hasFile && file.size > 10 * 1024 * 1024) {
          error.textContent = "Attachments can be at most 10 MB.";
          error.hidden = false;
          return;
        }
        data.delete("csrfmiddlewaretoken");
        button.disabled = true;
        try {
          const response = await fetch(this.root.dataset.sendUrl, {
            method: "POST",
            credentials: "same-origin",
            headers: { "X-CSRFToken": csrfToken(), Accept: "application/json" },
            body: data,
          });
          const result = await response.json().catch(() => null);
          if (response.ok && result) {
            this.add(result);
            if (result.seq > this.lastSeq) this.catchUp();
            form.reset();
            form.querySelector("textarea").focus();
          } else {
            error.textContent =
              result && result.error ? result.error.message : "The message could not be sent.";
            error.hidden = false;
          }
        } catch (failure) {
          error.textContent = "The message could not be sent. Check your connection and try again.";
          error.hidden = false;
        } finally {
          button.disabled = false;
        }
      });
    }
  }

  function start() {
    const root = document.getElementById("conversation");
    if (root && root.dataset.lastSeq !== undefined && !window.location.search.includes("before=")) {
      window.coachConversation = new Conversation(root);
      window.coachConversation.markRead();
    } else if (document.getElementById("unread-badge")) {
      window.coachBadgeSocket = new LiveSocket("/ws/messages/", { event: handleUserEvent });
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
