// Parley's moderation desk, made quicker. Every page works without this
// script (plain forms); with it, decisions happen in place, keys drive the
// queue (j/k to move, a/s/d to decide, u to undo, ? for help), and new
// held comments appear while the queue is open.
(function () {
  "use strict";
  var body = document.body;
  var site = body.dataset.site;
  var csrf = body.dataset.csrf;
  var flashEl = document.getElementById("flash");

  // The language switch submits itself.
  document.querySelectorAll("[data-autosubmit]").forEach(function (el) {
    el.addEventListener("change", function () { el.form.submit(); });
  });

  function say(msg, undo, error) {
    if (!flashEl) return;
    flashEl.hidden = false;
    flashEl.className = "flash" + (error ? " error" : "");
    flashEl.textContent = "";
    var span = document.createElement("span");
    span.textContent = msg;
    flashEl.appendChild(span);
    if (undo) {
      var b = document.createElement("button");
      b.type = "button";
      b.textContent = flashEl.dataset.undo || document.documentElement.dataset.undo || "Undo";
      b.addEventListener("click", doUndo);
      flashEl.appendChild(b);
    }
  }

  function post(url, data) {
    var fd = data instanceof FormData ? data : new FormData();
    return fetch(url, {
      method: "POST", body: new URLSearchParams(fd), credentials: "same-origin",
      headers: { "Accept": "application/json", "X-Parley-CSRF": csrf }
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (j) {
        if (!r.ok) throw new Error((j.error && j.error.message) || r.statusText);
        return j;
      });
    });
  }

  var cardsEl = document.querySelector(".cards:not(.single):not(.sample)");
  function cards() { return cardsEl ? Array.prototype.slice.call(cardsEl.querySelectorAll(".card:not(.gone)")) : []; }
  var current = null;
  function focusCard(c) {
    if (current) current.classList.remove("current");
    current = c;
    if (!c) return;
    c.classList.add("current");
    c.focus({ preventScroll: true });
    c.scrollIntoView({ block: "nearest" });
  }
  function move(step) {
    var list = cards();
    if (!list.length) return;
    var i = list.indexOf(current);
    focusCard(list[Math.max(0, Math.min(list.length - 1, i < 0 ? 0 : i + step))]);
  }

  // A decision taken on a card: sent in the background; the card leaves
  // the view (it is in another one now) and the next one is current.
  function decide(card, action) {
    var btn = card.querySelector('button[name="action"][value="' + action + '"]');
    if (!btn) return;
    var fd = new FormData(btn.form);
    fd.set("action", action);
    var list = cards(), next = list[list.indexOf(card) + 1] || list[list.indexOf(card) - 1];
    card.classList.add("gone");
    // form.action would be the button named "action": read the attribute.
    post(btn.form.getAttribute("action"), fd).then(function (j) {
      say(j.message, j.undo);
      if (current === card) focusCard(next || null);
      card.setAttribute("aria-hidden", "true");
    }).catch(function (e) {
      card.classList.remove("gone");
      say(e.message, false, true);
    });
  }

  function doUndo() {
    if (!site) return;
    post("/admin/sites/" + encodeURIComponent(site) + "/undo").then(function (j) {
      say(j.message, false);
      if (j.undone) setTimeout(function () { location.reload(); }, 600);
    }).catch(function (e) { say(e.message, false, true); });
  }

  if (cardsEl) {
    // Card buttons act in place; the page stays where it is.
    cardsEl.addEventListener("click", function (ev) {
      var btn = ev.target.closest('form.act button[name="action"]');
      if (!btn) {
        var card = ev.target.closest(".card");
        if (card && !ev.target.closest("a,button,input")) focusCard(card);
        return;
      }
      ev.preventDefault();
      decide(btn.closest(".card"), btn.value);
    });
    cardsEl.addEventListener("change", function (ev) {
      if (ev.target.classList.contains("pick")) ev.target.closest(".card").classList.toggle("selected", ev.target.checked);
    });
  }
  var flashUndo = flashEl && flashEl.querySelector("form.undo");
  if (flashUndo) flashUndo.addEventListener("submit", function (ev) { ev.preventDefault(); doUndo(); });

  var keys = document.getElementById("keys");
  document.addEventListener("keydown", function (ev) {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    var t = ev.target;
    if (t.closest && t.closest("input,textarea,select,[contenteditable]")) {
      if (ev.key === "Escape") t.blur();
      return;
    }
    if (keys && keys.open) return;
    var k = ev.key, c = current;
    if (k === "j") move(1);
    else if (k === "k") move(-1);
    else if (k === "a" && c) decide(c, "approve");
    else if (k === "s" && c) decide(c, c.querySelector('button[value="ham"]') ? "ham" : "spam");
    else if (k === "d" && c) decide(c, "delete");
    else if (k === "x" && c) { var p = c.querySelector(".pick"); p.checked = !p.checked; c.classList.toggle("selected", p.checked); }
    else if (k === "o" && c) location.href = c.querySelector('.actions a.btn').href.replace(/#.*$/, "");
    else if (k === "u") doUndo();
    else if (k === "/") { var q = document.querySelector("[data-key-focus]"); if (q) q.focus(); }
    else if (k === "?" && keys) keys.showModal();
    else return;
    ev.preventDefault();
  });

  // The live queue: new held comments are announced, and shown on demand,
  // on the pending view without a filter.
  var live = document.getElementById("live");
  if (live && site && cardsEl && cardsEl.dataset.view === "pending" && !location.search.match(/[?&](q|page|author|email|ip|since|from|to|cursor)=/) && window.EventSource) {
    var waiting = [], showBtn = document.getElementById("live-show");
    var es = new EventSource("/admin/sites/" + encodeURIComponent(site) + "/stream");
    es.addEventListener("held", function (ev) {
      var d = JSON.parse(ev.data);
      if (document.getElementById("c-" + d.id) || waiting.indexOf(d.id) >= 0) return;
      waiting.push(d.id);
      showBtn.textContent = d.label + " (" + waiting.length + ")";
      live.hidden = false;
    });
    showBtn.addEventListener("click", function () {
      var ids = waiting.splice(0);
      live.hidden = true;
      ids.reverse().forEach(function (id) {
        fetch("/admin/sites/" + encodeURIComponent(site) + "/comments/" + encodeURIComponent(id) + "?fragment=card", { credentials: "same-origin" })
          .then(function (r) { return r.ok ? r.text() : ""; })
          .then(function (html) {
            if (!html) return;
            var tpl = document.createElement("template");
            tpl.innerHTML = html.trim();
            var card = tpl.content.firstElementChild;
            cardsEl.insertBefore(card, cardsEl.firstChild);
            var empty = document.querySelector(".empty");
            if (empty) empty.remove();
          });
      });
    });
  }
})();
