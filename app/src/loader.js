// Latchkey's page script, inlined into every page by `app::app::PageScript`.
//
// 1. Navigation without reloads: same-origin links and forms are fetched and the new page's
//    <body> replaces the old one (the pages are server-rendered; every link and form also works
//    without this script). The page's own state survives, nothing flashes, history works.
// 2. Islands: after `load`, when the browser is idle, it loads the WebAssembly and hydrates each
//    <leptos-island> (the interactive parts: modal dialogs, Copy, the first sign-in status), and
//    again after every navigation. Our islands never nest, so a flat walk is enough.
((jsUrl, wasmUrl) => {
  let glue = null;
  let navigation = 0;

  const hydrateIslands = () => {
    if (!glue) return;
    for (const island of document.querySelectorAll('leptos-island')) {
      if (island.$$hydrated) continue;
      island.$$hydrated = true;
      const hydrate = glue[island.dataset.component];
      if (hydrate) hydrate(island);
      else console.warn('no WebAssembly for island', island.dataset.component);
    }
  };

  const load = () =>
    import(jsUrl)
      .then((module) => module.default({ module_or_path: wasmUrl }).then(() => module))
      .then((module) => {
        glue = module;
        module.hydrate();
        hydrateIslands();
      });
  const whenIdle = () => ('requestIdleCallback' in window ? requestIdleCallback(load, { timeout: 1000 }) : setTimeout(load, 0));
  if (document.readyState === 'complete') whenIdle();
  else addEventListener('load', whenIdle, { once: true });

  // What had focus, so that it gets it back when a dialog it opened closes.
  const focusKey = (element) => {
    if (!element || element === document.body) return null;
    if (element.id) return '#' + CSS.escape(element.id);
    const href = element.getAttribute('href');
    return href ? `a[href="${CSS.escape(href)}"]` : null;
  };
  let returnFocusTo = null;
  // The path of the page on screen (on Back and Forward, `location` has already moved on).
  let shownPath = location.pathname;

  // After a form comes back refused, the same form on the new page gets what was typed into the
  // fields the server left empty (it never writes passwords into a page), as if nothing had
  // reloaded.
  const restoreTyped = (typed) => {
    for (const form of document.forms) {
      const action = new URL(form.getAttribute('action') || location.href, location.href);
      if (action.pathname !== typed.path || (form.elements.namedItem('intent')?.value ?? null) !== typed.intent) continue;
      for (const field of form.querySelectorAll('input:not([type=hidden]):not([type=checkbox]):not([type=radio]):not([readonly]), textarea')) {
        if (!field.value && typed.data.has(field.name)) field.value = typed.data.get(field.name);
      }
    }
  };

  const swap = (html, url, history_, typed) => {
    const next = new DOMParser().parseFromString(html, 'text/html');
    const samePage = new URL(url).pathname === shownPath;
    shownPath = new URL(url).pathname;
    // Pages have a <dialog> only while one is shown (open, or just closed by Esc).
    if (!document.querySelector('dialog')) returnFocusTo = focusKey(document.activeElement);
    document.title = next.title;
    document.body.replaceWith(document.adoptNode(next.body));
    if (history_ === 'push') history.pushState(null, '', url);
    if (!samePage) scrollTo(0, 0);
    if (typed) restoreTyped(typed);
    hydrateIslands();
    // Focus as after a page load: into an open dialog (its island then makes it modal), else
    // the field marked autofocus, else back to what opened the dialog that just closed.
    const dialog = document.querySelector('dialog[open]');
    const target = dialog
      ? dialog.querySelector('[autofocus]') || dialog.querySelector('input:not([type=hidden]), select, button, a[href]')
      : document.querySelector('[autofocus]') || (samePage && returnFocusTo ? document.querySelector(returnFocusTo) : null);
    if (target && !(dialog && dialog.contains(document.activeElement))) target.focus();
  };

  // Fetches `request` and shows the answer; `fallback` does it the browser's way when fetching
  // fails before any answer (offline, a proxy in the way).
  const visit = async (request, history_, fallback, typed) => {
    const ticket = ++navigation;
    document.documentElement.setAttribute('aria-busy', 'true');
    try {
      const response = await fetch(request);
      const type = response.headers.get('Content-Type') || '';
      const text = await response.text();
      if (ticket !== navigation) return;
      if (type.startsWith('text/html')) {
        swap(text, response.url, history_, typed);
      } else {
        // A refusal in plain words (too large, too many tries): show it as the browser would.
        const body = document.createElement('body');
        const message = document.createElement('pre');
        message.setAttribute('role', 'alert');
        message.textContent = text;
        body.append(message);
        document.body.replaceWith(body);
        if (history_ === 'push') history.pushState(null, '', response.url);
      }
    } catch (error) {
      if (ticket === navigation) fallback();
    } finally {
      if (ticket === navigation) document.documentElement.removeAttribute('aria-busy');
    }
  };

  addEventListener('click', (event) => {
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    const link = event.target instanceof Element ? event.target.closest('a[href]') : null;
    if (!link || link.target || link.hasAttribute('download')) return;
    const url = new URL(link.href);
    if (url.origin !== location.origin) return;
    // A jump within the page stays the browser's.
    if (url.hash && url.pathname === location.pathname && url.search === location.search) return;
    event.preventDefault();
    visit(new Request(url, { headers: { Accept: 'text/html' } }), 'push', () => location.assign(url));
  });

  addEventListener('submit', (event) => {
    if (event.defaultPrevented) return;
    const form = event.target;
    const submitter = event.submitter;
    // Attributes, not properties: a field named "method" or "action" would shadow those.
    const method = (submitter?.getAttribute('formmethod') || form.getAttribute('method') || 'get').toUpperCase();
    const url = new URL(submitter?.getAttribute('formaction') || form.getAttribute('action') || location.href, location.href);
    if (url.origin !== location.origin || (method !== 'GET' && method !== 'POST')) return;
    event.preventDefault();
    // One submission at a time: a second click must not create a second app password.
    if (form.dataset.pending) return;
    form.dataset.pending = 'true';
    const data = new URLSearchParams(new FormData(form, submitter));
    const init = { method, headers: { Accept: 'text/html' } };
    if (method === 'GET') url.search = data.toString();
    else init.body = data;
    const typed = { path: url.pathname, intent: data.get('intent'), data };
    visit(new Request(url, init), 'push', () => {
      delete form.dataset.pending;
      form.submit();
    }, typed);
  });

  addEventListener('popstate', () => {
    visit(new Request(location.href, { headers: { Accept: 'text/html' } }), 'none', () => location.reload());
  });
})
