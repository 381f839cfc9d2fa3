// Coach Connect community: live group lists and discussions.
//
// A group's page listens on its socket and puts new discussions (and ones with new replies)
// at the top. A discussion's page appends replies as they are published, takes out those a
// moderator hides, updates reaction counts, and posts replies and reactions to the API.
// Replies are ordered by a per-discussion sequence number: a reply that arrives twice
// (the poster's own answer and the socket) is shown once, and after a reconnect the page
// asks for every reply after the last one it has. The HTML of a post comes from the server,
// which rendered and sanitised it once; everything else is set as text.
(() => {
  "use strict";

  function csrfToken() {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  function socketUrl(path) {
    const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
    return `${scheme}//${window.location.host}${path}`;
  }

  function element(tag, attributes, text) {
    const node = document.createElement(tag);
    Object.entries(attributes || {}).forEach(([name, value]) => node.setAttribute(name, value));
    if (text !== undefined) node.textContent = text;
    return node;
  }

  async function postJson(url, body) {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify(body),
    });
    let payload = null;
    try {
      payload = await response.json();
    } catch (error) {
      payload = null;
    }
    return { ok: response.ok, status: response.status, payload };
  }

  // A WebSocket that reconnects with backoff (1 s .. 5 s); a ban closes it for good.
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
        document.documentElement.dataset.communitySocket = "open";
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
        if (payload.kind === "revoked") {
          this.stopped = true;
          if (this.handlers.revoked) this.handlers.revoked();
          return;
        }
        this.handlers.event(payload);
      });
      socket.addEventListener("close", (event) => {
        window.clearInterval(this.pinger);
        document.documentElement.dataset.communitySocket = "closed";
        if (event.code === 4403) this.stopped = true;
        if (this.stopped) return;
        window.setTimeout(() => this.connect(), this.delay);
        this.delay = Math.min(this.delay * 2, 5000);
      });
    }
  }

  function revokedNotice(root) {
    root.replaceChildren(
      element("p", { class: "empty", id: "access-revoked", role: "alert" },
        "You no longer have access to this group."),
    );
  }

  // --- a group's list of discussions ------------------------------------------------------

  function discussionRow(summary) {
    const row = element("li", {
      class: "discussion-row card",
      id: `discussion-${Number(summary.id)}`,
      "data-discussion": String(Number(summary.id)),
    });
    const link = element("a", { class: "discussion-title", href: summary.url }, summary.title);
    const meta = element("p", { class: "muted discussion-meta" });
    meta.append(`by ${summary.author.name} · `);
    meta.append(element("span", {
      class: "reply-count", "data-reply-count": String(Number(summary.id)),
    }, String(summary.reply_count)));
    meta.append(summary.reply_count === 1 ? " reply · latest activity just now" :
      " replies · latest activity just now");
    row.append(link, meta);
    return row;
  }

  function setupGroup(root) {
    const list = document.getElementById("discussion-list");
    const liveList = root.dataset.liveList === "1";
    const notice = document.getElementById("live-notice");
    new LiveSocket(root.dataset.wsPath, {
      event(payload) {
        if (!list) return;
        if (payload.kind === "discussion" || payload.kind === "activity") {
          const summary = payload.discussion;
          const existing = document.getElementById(`discussion-${Number(summary.id)}`);
          if (!liveList) {
            if (notice) notice.textContent = "There is new activity. Reload to see it.";
            return;
          }
          if (existing) existing.remove();
          list.prepend(discussionRow(summary));
          const empty = document.getElementById("no-discussions");
          if (empty) empty.hidden = true;
        } else if (payload.kind === "gone" && payload.reply === null) {
          const existing = document.getElementById(`discussion-${Number(payload.discussion)}`);
          if (existing) existing.remove();
        }
      },
      revoked() {
        revokedNotice(root);
      },
    });
  }

  // --- one discussion ----------------------------------------------------------------------

  class Discussion {
    constructor(root) {
      this.root = root;
      this.list = document.getElementById("reply-list");
      this.me = Number(root.dataset.user);
      this.canPost = root.dataset.canPost === "1";
      this.member = root.dataset.member === "1";
      this.liveAppend = root.dataset.liveAppend === "1";
      this.lastSeq = Number(root.dataset.lastSeq) || 0;
      this.status = document.getElementById("connection-status");
      this.connected = false;
      this.setupForm();
      this.setupReactions(root);
      this.setupQuotes(root);
      this.socket = new LiveSocket(root.dataset.wsPath, {
        open: () => this.online(),
        event: (payload) => this.handle(payload),
        revoked: () => revokedNotice(root),
      });
    }

    online() {
      if (this.status) this.status.textContent = "";
      this.root.dataset.live = "socket";
      if (this.connected) this.catchUp();
      this.connected = true;
    }

    async catchUp() {
      if (!this.liveAppend) return;
      const response = await fetch(`${this.root.dataset.repliesUrl}?after=${this.lastSeq}`, {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      });
      if (!response.ok) return;
      const page = await response.json();
      page.replies.forEach((reply) => this.insert(reply));
    }

    handle(payload) {
      if (payload.kind === "reply") {
        this.insert(payload.reply);
      } else if (payload.kind === "gone") {
        if (payload.reply === null) {
          const body = this.root.querySelector(".discussion-body");
          if (body) body.replaceChildren(element("p", { class: "muted" },
            "This discussion is no longer shown."));
          const form = document.getElementById("reply-form");
          if (form) form.remove();
        } else {
          const item = document.getElementById(`reply-${Number(payload.reply)}`);
          if (item && Number(item.dataset.author) !== this.me) item.remove();
          else if (item) item.classList.add("reply-hidden");
        }
      } else if (payload.kind === "reactions") {
        const scope = payload.reply === null
          ? this.root.querySelector(":scope > .reactions")
          : document.querySelector(`#reply-${Number(payload.reply)} .reactions`);
        if (scope) this.setCounts(scope, payload.counts, null);
      }
    }

    insert(reply) {
      if (reply.status !== "published" && reply.author.id !== this.me) return;
      const existing = document.getElementById(`reply-${Number(reply.seq)}`);
      if (!existing && !this.liveAppend) return;
      const item = this.build(reply);
      if (existing) {
        existing.replaceWith(item);
      } else {
        const later = Array.from(this.list.querySelectorAll("li[data-seq]")).find(
          (li) => Number(li.dataset.seq) > Number(reply.seq),
        );
        this.list.insertBefore(item, later || null);
      }
      this.lastSeq = Math.max(this.lastSeq, Number(reply.seq));
      const empty = document.getElementById("no-replies");
      if (empty) empty.hidden = true;
    }

    build(reply) {
      const item = element("li", {
        class: `reply card${reply.status === "published" ? "" : ` reply-${reply.status}`}`,
        id: `reply-${Number(reply.seq)}`,
        "data-seq": String(Number(reply.seq)),
        "data-id": String(Number(reply.id)),
        "data-author": String(Number(reply.author.id)),
      });
      const meta = element("p", { class: "reply-meta" });
      meta.append(element("strong", { class: "reply-author" }, reply.author.name));
      if (reply.author.handle) {
        meta.append(" ", element("span", { class: "handle" }, `@${reply.author.handle}`));
      }
      meta.append(" · ", element("time", { datetime: reply.created_at }, "just now"));
      if (reply.edited_at) meta.append(" · edited");
      if (reply.status !== "published") {
        meta.append(" ", element("span", { class: "badge badge-muted" }, "Held for review"));
      }
      item.append(meta);
      if (reply.quote) {
        const quote = element("blockquote", { class: "reply-quote" });
        if (reply.quote.visible) {
          quote.append(element("p", { class: "muted" }, `${reply.quote.author} wrote:`));
          const quoted = element("div");
          quoted.innerHTML = reply.quote.body_html; // sanitised by the server (nh3)
          quote.append(...quoted.childNodes);
        } else {
          quote.append(element("p", { class: "muted" }, "The quoted reply is no longer shown."));
        }
        item.append(quote);
      }
      const body = element("div", { class: "post-body" });
      body.innerHTML = reply.body_html; // sanitised by the server (nh3)
      item.append(body);
      if (reply.status === "published") {
        const template = document.getElementById("reply-reactions-template");
        if (template) {
          const form = template.content.firstElementChild.cloneNode(true);
          const url = this.root.dataset.replyReactUrl.replace("/0/", `/${Number(reply.id)}/`);
          form.dataset.reactUrl = url;
          form.action = url;
          this.setupReactions(item, form);
          item.append(form);
        }
      }
      const actions = element("div", { class: "post-actions" });
      if (this.canPost && reply.status === "published") {
        const quoteLink = element("a", {
          href: `?quote=${Number(reply.id)}#reply-form`,
          class: "quote-link",
          "data-quote": String(Number(reply.id)),
          "data-quote-author": reply.author.name,
        }, "Quote");
        quoteLink.addEventListener("click", (event) => this.quote(event, quoteLink));
        actions.append(quoteLink);
      }
      if (this.member && reply.author.id !== this.me && reply.status === "published") {
        const details = element("details", { class: "report" });
        details.append(element("summary", {}, "Report"));
        const form = element("form", {
          method: "post",
          action: this.root.dataset.replyReportUrl.replace("/0/", `/${Number(reply.id)}/`),
        });
        const token = element("input", { type: "hidden", name: "csrfmiddlewaretoken" });
        token.value = csrfToken();
        const fieldId = `report-reply-${Number(reply.id)}`;
        form.append(
          token,
          element("label", { for: fieldId }, "What is wrong with this reply?"),
          element("textarea", { id: fieldId, name: "reason", rows: "2", maxlength: "1000", required: "" }),
          element("button", { type: "submit", class: "button-small" }, "Send report"),
        );
        details.append(form);
        actions.append(details);
      }
      item.append(actions);
      return item;
    }

    setupForm() {
      const form = document.getElementById("reply-form");
      if (!form) return;
      this.form = form;
      const box = form.querySelector("textarea");
      const error = document.getElementById("reply-error");
      form.addEventListener("submit", async (event) => {
        event.preventDefault();
        const body = box.value.trim();
        if (!body) return;
        const quote = document.getElementById("id_quote_of");
        const submit = form.querySelector('button[type="submit"]');
        submit.disabled = true;
        error.hidden = true;
        try {
          const answer = await postJson(this.root.dataset.repliesUrl, {
            body,
            quote_of: quote && quote.value ? Number(quote.value) : null,
          });
          if (answer.ok) {
            box.value = "";
            this.clearQuote();
            if (answer.payload.status !== "published") {
              error.textContent = "Your reply is waiting for a moderator before it is published.";
              error.hidden = false;
            }
            this.insert(answer.payload);
          } else {
            error.textContent = (answer.payload && answer.payload.error)
              ? answer.payload.error.message : "Your reply could not be sent. Try again.";
            error.hidden = false;
          }
        } catch (failure) {
          error.textContent = "Your reply could not be sent. Check your connection and try again.";
          error.hidden = false;
        } finally {
          submit.disabled = false;
        }
      });
    }

    setupQuotes(root) {
      root.querySelectorAll("a.quote-link").forEach((link) => {
        link.addEventListener("click", (event) => this.quote(event, link));
      });
      const quote = document.getElementById("id_quote_of");
      if (quote && quote.value) this.showQuote(null);
    }

    quote(event, link) {
      const field = document.getElementById("id_quote_of");
      if (!field || !this.form) return;
      event.preventDefault();
      field.value = link.dataset.quote;
      this.showQuote(link.dataset.quoteAuthor);
      this.form.querySelector("textarea").focus();
    }

    showQuote(author) {
      const notice = document.getElementById("quote-notice");
      if (!notice) return;
      notice.replaceChildren(author ? `Quoting ${author}. ` : "Quoting a reply. ");
      const cancel = element("button", { type: "button", class: "link-button" }, "Cancel");
      cancel.addEventListener("click", () => this.clearQuote());
      notice.append(cancel);
      notice.hidden = false;
    }

    clearQuote() {
      const field = document.getElementById("id_quote_of");
      if (field) field.value = "";
      const notice = document.getElementById("quote-notice");
      if (notice) notice.hidden = true;
    }

    setupReactions(scope, only) {
      const forms = only ? [only] : Array.from(scope.querySelectorAll("form.reactions"));
      forms.forEach((form) => {
        form.addEventListener("submit", async (event) => {
          const button = event.submitter;
          if (!button || !form.dataset.reactUrl) return;
          event.preventDefault();
          const answer = await postJson(form.dataset.reactUrl, { kind: button.value });
          if (answer.ok) this.setCounts(form, answer.payload.counts, [button.value, answer.payload.on]);
        });
      });
    }

    setCounts(form, counts, mine) {
      form.querySelectorAll("button.reaction").forEach((button) => {
        const count = button.querySelector(".reaction-count");
        if (count && counts[button.dataset.kind] !== undefined) {
          count.textContent = String(Number(counts[button.dataset.kind]));
        }
        if (mine && button.dataset.kind === mine[0]) {
          button.classList.toggle("reaction-mine", mine[1]);
          button.setAttribute("aria-pressed", mine[1] ? "true" : "false");
        }
      });
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    const group = document.getElementById("community-group");
    if (group && group.dataset.wsPath) setupGroup(group);
    const discussion = document.getElementById("community-discussion");
    if (discussion) new Discussion(discussion);
  });
})();
