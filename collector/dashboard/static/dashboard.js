// SPDX-License-Identifier: Apache-2.0
// The llmledger dashboard page. Live (served by the collector or `llmledger ui`) it reads its view and filters
// from the URL, fetches one JSON document for them from the API path in <body data-api>, with the bearer token
// kept in this tab's sessionStorage (given once as #token=… or typed into the form a 401 brings up), and any
// change of filter is a new URL, so every view can be shared by its link. As a report file
// (`llmledger report --html`) the document of every view is embedded and shown top to bottom.
// All text is set through textContent: names come from spans and must never be read as HTML.
"use strict";
(function () {
  var VIEWS = [
    ["overview", "Overview"], ["breakdown", "Breakdown"], ["tokens", "Tokens & cache"],
    ["quality", "Unknown cost"], ["budgets", "Budgets"], ["traces", "Costly traces"]
  ];
  var PALETTE = ["#4f6bed", "#19a78b", "#f0a030", "#d9534f", "#8e5fd6", "#5aa6d6", "#7f8c8d"];
  var TOKEN_KEY = "llmledger-token";
  var body = document.body;
  var embedded = document.getElementById("llmledger-data");

  function h(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  function num(v) { return v === null || v === undefined || v === "" ? 0 : Number(v); }
  function usd(v) {
    var x = num(v), a = Math.abs(x);
    if (x === 0) return "$0";
    if (a >= 1000) return "$" + x.toLocaleString("en-US", {maximumFractionDigits: 0});
    if (a >= 1) return "$" + x.toFixed(2);
    return "$" + x.toPrecision(3).replace(/0+$/, "").replace(/\.$/, "");
  }
  function count(v) { return num(v).toLocaleString("en-US"); }
  function compact(v) {
    var x = num(v);
    if (Math.abs(x) >= 1e9) return (x / 1e9).toFixed(1) + "B";
    if (Math.abs(x) >= 1e6) return (x / 1e6).toFixed(1) + "M";
    if (Math.abs(x) >= 1e4) return (x / 1e3).toFixed(1) + "k";
    return count(x);
  }
  function percent(v) { return (100 * num(v)).toFixed(1) + "%"; }
  function when(text, hours) {
    if (!text) return "";
    var d = text.replace("T", " ").replace("Z", "");
    return hours >= 24 ? d.slice(5, 10) : d.slice(5, 16);
  }

  // -- the URL ---------------------------------------------------------------------------------------------
  var search = new URLSearchParams(location.search);
  function urlWith(changes) {
    var next = new URLSearchParams(location.search);
    Object.keys(changes).forEach(function (key) {
      if (changes[key] === "" || changes[key] === null) next.delete(key); else next.set(key, changes[key]);
    });
    var text = next.toString();
    return location.pathname + (text ? "?" + text : "");
  }
  function takeToken() {  // a token given in the fragment: kept in the tab, taken off the URL
    if (location.hash.indexOf("token=") < 0) return false;
    var given = new URLSearchParams(location.hash.slice(1)).get("token");
    if (given) sessionStorage.setItem(TOKEN_KEY, given);
    history.replaceState(null, "", location.pathname + location.search);
    return true;
  }
  takeToken();

  // -- page frame ------------------------------------------------------------------------------------------
  function frame(doc, live) {
    var main = document.getElementById("main");
    main.textContent = "";
    var f = doc.filters;
    var bar = h("form", "ll-filters");
    bar.setAttribute("aria-label", "filters");
    bar.appendChild(select("days", "Period", [["1", "last 24 h"], ["7", "last 7 days"], ["30", "last 30 days"],
      ["90", "last 90 days"]], String(f.days), live));
    ["tenant", "service", "feature"].forEach(function (name) {
      var values = (doc.choices[name] || []).slice();
      if (f[name] && values.indexOf(f[name]) < 0) values.push(f[name]);
      var options = [["", "all " + name + "s"]].concat(values.filter(function (v) { return v !== ""; })
        .map(function (v) { return [v, v]; }));
      bar.appendChild(select(name, name.charAt(0).toUpperCase() + name.slice(1), options, f[name], live));
    });
    main.appendChild(bar);
    var tabs = h("nav", "ll-tabs");
    VIEWS.forEach(function (v) {
      var a = h("a", v[0] === f.view && live ? "active" : "", v[1]);
      a.href = live ? urlWith({view: v[0] === "overview" ? "" : v[0]}) : "#view-" + v[0];
      a.dataset.view = v[0];
      tabs.appendChild(a);
    });
    main.appendChild(tabs);
    main.appendChild(kpis(doc));
    return main;
  }

  function select(name, label, options, value, live) {
    var wrap = h("label", "ll-filter");
    wrap.appendChild(h("span", "", label));
    var box = h("select");
    box.name = name;
    box.disabled = !live;
    var shown = value;
    options.forEach(function (o) {
      var opt = h("option", "", o[1]);
      opt.value = o[0];
      if (o[0] === shown) opt.selected = true;
      box.appendChild(opt);
    });
    box.addEventListener("change", function () {
      var change = {};
      change[name] = name === "days" && box.value === "7" ? "" : box.value;
      location.assign(urlWith(change));
    });
    wrap.appendChild(box);
    return wrap;
  }

  function kpis(doc) {
    var t = doc.total, row = h("section", "ll-kpis");
    var prev = num(t.previous_spend_usd), now = num(t.spend_usd);
    var change = prev > 0 ? ((now - prev) / prev) : null;
    tile(row, "Spend", usd(t.spend_usd), t.spend_usd, change === null ? "no spend in the period before" :
      (change >= 0 ? "▲ " : "▼ ") + Math.abs(100 * change).toFixed(0) + "% on the period before", "spend");
    tile(row, "Calls", count(t.calls), t.calls, count(t.failed_calls) + " failed", "calls");
    tile(row, "Tokens", compact(num(t.input_tokens) + num(t.output_tokens)), num(t.input_tokens) + num(t.output_tokens),
      compact(t.input_tokens) + " in · " + compact(t.output_tokens) + " out", "tokens");
    tile(row, "Cache savings", usd(t.cache_savings_usd), t.cache_savings_usd, compact(t.cache_read_tokens) + " tokens read from cache",
      "savings");
    tile(row, "Unpriced calls", count(t.unpriced_calls), t.unpriced_calls, "cost unknown, not in spend", "unpriced",
      num(t.unpriced_calls) > 0);
    tile(row, "Usage missing", count(t.usage_missing_calls), t.usage_missing_calls, "streams without usage", "usage-missing",
      num(t.usage_missing_calls) > 0);
    return row;
  }

  function tile(row, title, value, exact, note, key, warn) {
    var box = h("div", "ll-kpi" + (warn ? " warn" : ""));
    box.dataset.kpi = key;
    box.dataset.value = String(exact);  // the number as the server sent it (money: an exact decimal string)
    box.appendChild(h("div", "ll-kpi-title", title));
    box.appendChild(h("div", "ll-kpi-value", value));
    box.appendChild(h("div", "ll-kpi-note", note));
    row.appendChild(box);
  }

  // -- sections --------------------------------------------------------------------------------------------
  function card(parent, key, title, rows, empty, wide) {
    var box = h("section", "ll-card" + (wide ? " wide" : ""));
    box.dataset.section = key;
    box.appendChild(h("h3", "", title));
    parent.appendChild(box);
    if (!rows || rows.length === 0) {
      box.appendChild(h("p", "ll-empty", empty || "Nothing in this period."));
      box.dataset.empty = "true";
      return null;
    }
    return box;
  }

  function table(box, rows, columns) {
    var t = h("table", "ll-table"), head = h("tr");
    columns.forEach(function (c) { head.appendChild(h("th", c[2] ? "num" : "", c[1])); });
    t.appendChild(h("thead")).appendChild(head);
    var tb = h("tbody");
    rows.forEach(function (r) {
      var tr = h("tr");
      columns.forEach(function (c) {
        var cell = h("td", c[2] ? "num" : "");
        var v = typeof c[0] === "function" ? c[0](r, cell) : r[c[0]];
        if (v instanceof Node) cell.appendChild(v);
        else cell.textContent = c[2] ? c[2](v) : (v === "" || v === null || v === undefined ? "–" : String(v));
        tr.appendChild(cell);
      });
      tb.appendChild(tr);
    });
    t.appendChild(tb);
    box.appendChild(t);
  }

  function ranked(parent, key, title, rows, label, note) {
    var box = card(parent, key, title, rows);
    if (!box) return;
    LLChart.bars(box, rows.map(function (r) {
      var text = note ? note(r) : count(r.calls) + " calls";
      // Calls of unknown cost (no price, or no usage) are not in the spend: a group of nothing else costs
      // "unknown", not $0, and a group with some says how many.
      var unknown = num(r.unpriced_calls || 0);
      var all = unknown > 0 && unknown >= num(r.calls) && num(r.spend_usd) === 0;
      if (unknown > 0 && !all) text += " · " + count(unknown) + " unknown";
      return {label: label(r), value: num(r.spend_usd), note: text, text: all ? "unknown" : undefined};
    }), usd);
  }

  function traceLink(doc, r, withSpan) {
    var id = r.trace_id || "";
    if (!id) return h("span", "ll-muted", "(no trace)");
    var text = id + (withSpan ? " / " + (r.span_id || "") : "");
    if (!r.link) {
      var plain = h("code", "", text);
      plain.title = id + " (start the page with --jaeger-url or LLMLEDGER_JAEGER_URL to link it)";
      return plain;
    }
    var a = h("a", "ll-trace");
    a.appendChild(h("code", "", text));
    a.href = r.link;
    a.target = "_blank";
    a.rel = "noopener noreferrer";
    a.title = "open trace " + id + " in Jaeger";
    a.dataset.traceId = id;
    return a;
  }

  var RENDER = {
    spend_over_time: function (p, rows, doc) {
      var box = card(p, "spend_over_time", "Spend over time", rows, null, true);
      if (!box) return;
      var hours = doc.filters.bucket_hours;
      LLChart.columns(box, {title: "spend over time", labels: rows.map(function (r) { return r.period; }),
        series: [{name: "spend", color: PALETTE[0], values: rows.map(function (r) { return num(r.spend_usd); })}],
        format: usd, labelFormat: function (l) { return when(l, hours); }});
    },
    spend_by_model: function (p, rows) {
      ranked(p, "spend_by_model", "Spend by model", rows, function (r) { return r.model + " (" + r.provider + ")"; },
        function (r) { return count(r.calls) + " calls · " + compact(r.total_tokens) + " tokens"; });
    },
    spend_by_provider: function (p, rows) {
      ranked(p, "spend_by_provider", "Spend by provider", rows, function (r) { return r.provider; });
    },
    spend_by_service: function (p, rows) {
      ranked(p, "spend_by_service", "Spend by service", rows, function (r) {
        return r.service + (r.environment ? " · " + r.environment : "");
      });
    },
    spend_by_feature: function (p, rows) {
      ranked(p, "spend_by_feature", "Spend by feature", rows, function (r) { return r.feature; },
        function (r) { return count(r.calls) + " calls · " + count(r.users) + " users"; });
    },
    spend_by_user: function (p, rows) {
      ranked(p, "spend_by_user", "Top users", rows.slice(0, 15), function (r) { return r.user_id; },
        function (r) { return count(r.calls) + " calls · " + r.active_days + " days"; });
    },
    spend_by_tenant: function (p, rows) {
      ranked(p, "spend_by_tenant", "Spend by tenant", rows, function (r) { return r.tenant; },
        function (r) { return count(r.calls) + " calls · " + count(r.users) + " users"; });
    },
    token_mix: function (p, rows, doc) {
      var box = card(p, "token_mix", "Token mix", rows, null, true);
      if (!box) return;
      var hours = doc.filters.bucket_hours;
      var series = [["uncached input", "uncached_input_tokens"], ["cache reads", "cache_read_tokens"],
        ["cache writes", "cache_write_tokens"], ["output", "visible_output_tokens"], ["reasoning", "reasoning_tokens"]];
      LLChart.columns(box, {title: "token mix", labels: rows.map(function (r) { return r.period; }),
        series: series.map(function (s, i) {
          return {name: s[0], color: PALETTE[i], values: rows.map(function (r) { return num(r[s[1]]); })};
        }), format: compact, labelFormat: function (l) { return when(l, hours); }});
    },
    cache_savings: function (p, rows) {
      var saved = rows.filter(function (r) { return num(r.cache_read_tokens) > 0 || num(r.savings_usd) !== 0; });
      var box = card(p, "cache_savings", "Cache savings by model", saved, "No cache reads in this period.", true);
      if (!box) return;
      table(box, saved, [["model", "model"], ["provider", "provider"], ["savings_usd", "saved", usd],
        ["cache_read_tokens", "cache reads", count], ["input_tokens", "input", count],
        ["cached_share", "cached share", percent]]);
    },
    unpriced: function (p, rows) {
      var box = card(p, "unpriced", "Unpriced calls: no price known, cost NOT in the totals", rows,
        "Every call in this period had a price.", true);
      if (!box) return;
      table(box, rows, [["provider", "provider"], ["model", "model"], ["calls", "calls", count],
        ["input_tokens", "input tokens", count], ["output_tokens", "output tokens", count]]);
      box.appendChild(h("p", "ll-hint", "Add their prices to LLMLEDGER_PRICES_FILE (docs/pricing.md)."));
    },
    usage_missing: function (p, rows) {
      var box = card(p, "usage_missing", "Usage missing: calls that never reported their usage", rows,
        "Every call in this period reported its usage.", true);
      if (!box) return;
      table(box, rows, [["provider", "provider"], ["server", "server"], ["calls", "calls", count],
        ["streams", "streams", count], [function (r) { return (r.models || []).join(", "); }, "models"]]);
    },
    failed_calls: function (p, rows) {
      var box = card(p, "failed_calls", "Failed calls by model", rows, "No failed calls in this period.", true);
      if (!box) return;
      table(box, rows, [["provider", "provider"], ["model", "model"], ["failed_calls", "failed", count],
        ["calls", "of calls", count], [function (r) { return percent(num(r.failed_calls) / num(r.calls)); },
        "failed share"]]);
    },
    budgets: function (p, rows) {
      var box = card(p, "budgets", "Budgets in their current window", rows,
        "No budgets: give the collector a budget file (--budgets-file) to see their burn here.", true);
      if (!box) return;
      table(box, rows, [["name", "budget"], [function (r) {
        return Object.keys(r.key || {}).map(function (k) { return k + "=" + r.key[k]; }).join(" ");
      }, "key"], [function (r, cell) {
        var gauge = h("span", "ll-gauge" + (num(r.fraction) >= 1 ? " over" : num(r.fraction) >= 0.8 ? " near" : ""));
        var fill = h("span");
        fill.style.width = Math.min(100, 100 * num(r.fraction)) + "%";
        gauge.appendChild(fill);
        var wrap = h("span");
        wrap.appendChild(gauge);
        wrap.appendChild(h("span", "", " " + percent(r.fraction)));
        return wrap;
      }, "used"], ["spent_usd", "spent", usd], ["limit_usd", "limit", usd],
        ["burn_usd_per_hour", "burn / h", usd], ["projected_usd", "projected", usd], ["action", "action"]]);
    },
    budget_burn: function (p, rows) {
      var box = card(p, "budget_burn", "Month to date and projection by tenant and service", rows, null, true);
      if (!box) return;
      table(box, rows, [["tenant", "tenant"], ["service", "service"], ["month_to_date_usd", "month to date", usd],
        ["last_24h_usd", "last 24 h", usd], ["projected_month_usd", "projected month", usd]]);
    },
    trace_costs: function (p, rows, doc) {
      var box = card(p, "trace_costs", "Most expensive traces", rows, null, true);
      if (!box) return;
      table(box, rows, [[function (r) { return traceLink(doc, r, false); }, "trace"],
        ["spend_usd", "spend", usd], ["calls", "calls", count], ["total_tokens", "tokens", count],
        ["service", "service"], ["user_id", "user"], [function (r) { return (r.models || []).join(", "); }, "models"],
        [function (r) { return when(r.start, 1); }, "start (UTC)"]]);
    },
    top_calls: function (p, rows, doc) {
      var box = card(p, "top_calls", "Most expensive calls", rows, null, true);
      if (!box) return;
      table(box, rows, [[function (r) { return traceLink(doc, r, true); }, "trace / span"],
        ["spend_usd", "spend", usd], ["model", "model"], ["total_tokens", "tokens", count], ["service", "service"],
        ["feature", "feature"], ["user_id", "user"], [function (r) { return when(r.timestamp, 1); }, "at (UTC)"]]);
    }
  };
  var SECTIONS = {
    overview: ["spend_over_time", "spend_by_model", "spend_by_provider"],
    breakdown: ["spend_by_service", "spend_by_feature", "spend_by_user", "spend_by_tenant"],
    tokens: ["token_mix", "cache_savings"],
    quality: ["unpriced", "usage_missing", "failed_calls"],
    budgets: ["budgets", "budget_burn"],
    traces: ["trace_costs", "top_calls"]
  };

  // Draws the frame and every section `doc` holds; a section it lacks gets a placeholder, and `fill` draws it
  // when its part arrives. The state is "ready" (or "ready-empty") once every section is drawn.
  function render(doc, live) {
    var main = frame(doc, live);
    var titles = {}, slots = {};
    VIEWS.forEach(function (v) { titles[v[0]] = v[1]; });
    doc.views.forEach(function (view) {
      var grid = h("div", "ll-grid");
      grid.id = "view-" + view;
      grid.dataset.view = view;
      if (!live) main.appendChild(h("h2", "ll-view-title", titles[view]));
      SECTIONS[view].forEach(function (key) {
        var slot = h("div", "ll-slot");
        grid.appendChild(slot);
        slots[key] = slot;
        if (doc[key] !== undefined) RENDER[key](slot, doc[key], doc);
        else slot.appendChild(h("section", "ll-card wide ll-pending", "Loading…"));
      });
      main.appendChild(grid);
    });
    var when = doc.generated_at.replace("T", " ").replace(/\..*Z|Z/, " UTC");
    var scope = ["tenant", "service", "feature"].filter(function (k) { return doc.filters[k]; })
      .map(function (k) { return k + " " + doc.filters[k]; }).join(", ");
    document.getElementById("stamp").textContent = "as of " + when + (scope ? " · " + scope : "") +
      (doc.jaeger_url ? "" : " · traces are not linked: no Jaeger URL given");
    body.dataset.firstPaintMs = String(Math.round(performance.now()));
    var left = document.querySelectorAll(".ll-pending").length;
    function settled() {
      body.dataset.state = num(doc.total.calls) > 0 ? "ready" : "ready-empty";
      body.dataset.renderedMs = String(Math.round(performance.now()));
    }
    if (!left) settled();
    return {
      fill: function (key, rows) {
        slots[key].textContent = "";
        RENDER[key](slots[key], rows, doc);
        if (--left === 0) settled();
      }
    };
  }

  function problem(message, tokenForm) {
    var main = document.getElementById("main");
    main.textContent = "";
    var box = h("section", "ll-problem");
    box.appendChild(h("p", "", message));
    if (tokenForm) {
      var form = h("form", "ll-token");
      var input = h("input");
      input.type = "password";
      input.name = "token";
      input.placeholder = "bearer token";
      input.autocomplete = "off";
      form.appendChild(input);
      form.appendChild(h("button", "", "Open"));
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        sessionStorage.setItem(TOKEN_KEY, input.value);
        load();
      });
      box.appendChild(form);
    }
    main.appendChild(box);
    body.dataset.state = tokenForm ? "token" : "error";
  }

  // The view in parts: its head (the totals and the filters' choices) first, drawn at once, then each section
  // in its own request, drawn as it arrives; a slow section never holds up the others.
  function load() {
    var token = sessionStorage.getItem(TOKEN_KEY);
    var query = new URLSearchParams(location.search);
    var view = query.get("view") || "overview";
    body.dataset.state = "loading";
    function part(name) {
      var asked = new URLSearchParams(query);
      asked.set("part", name);
      return fetch(body.dataset.api + "?" + asked.toString(), {
        headers: token ? {Authorization: "Bearer " + token} : {}, cache: "no-store"
      }).then(function (response) {
        if (response.status === 401) {
          if (token) sessionStorage.removeItem(TOKEN_KEY);
          throw {token: true, message: token ? "That token was refused. This collector requires its bearer token:" :
            "This collector requires its bearer token:"};
        }
        return response.json().then(function (doc) {
          if (!response.ok) throw {message: doc.error || ("HTTP " + response.status)};
          return doc;
        });
      });
    }
    function fail(error) {
      problem(error.token ? error.message : error.message || ("Could not load the dashboard's data: " + error),
        !!error.token);
    }
    part("head").then(function (doc) {
      var page = render(doc, true);
      (SECTIONS[view] || []).forEach(function (key) {
        var none = (key === "unpriced" && !num(doc.total.unpriced_calls)) ||
          (key === "usage_missing" && !num(doc.total.usage_missing_calls));
        if (none) { page.fill(key, []); return; }  // the total says there are none: nothing to ask
        part(key).then(function (found) { page.fill(key, found.rows); }).catch(fail);
      });
    }).catch(fail);
  }

  if (embedded) render(JSON.parse(embedded.textContent), false);
  else {
    window.addEventListener("hashchange", function () { if (takeToken()) load(); });
    load();
  }
})();
