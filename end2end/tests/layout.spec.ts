// What a person sees at every width: on Security info with app passwords, My Profile and the
// admin console, at 390, 768, 1024 and 1280 px, no link, button or field overlaps another or a
// line of text, and nothing scrolls sideways.
import { test, expect, hydrated, readyUser, openAppPasswordDialog, addPerson } from './fixtures';
import type { Page } from '@playwright/test';

const WIDTHS = [390, 768, 1024, 1280];

/** Pairs of visible controls and text lines in `main` whose boxes overlap, described. */
async function overlaps(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const describe = (el: Element) =>
      `${el.tagName.toLowerCase()} "${(el.textContent || (el as HTMLInputElement).value || '').trim().slice(0, 40)}"`;
    const visible = (r: DOMRect) => r.width > 0 && r.height > 0;
    // The content of a closed <details> (all but its summary) is not drawn, though Chromium still
    // gives its text boxes.
    const folded = (el: Element) => {
      const details = el.closest('details:not([open])');
      return details !== null && !el.closest('summary');
    };
    const controls = Array.from(document.querySelectorAll('main a, main button, main input, main select, main textarea'))
      .filter((el) => (el as HTMLInputElement).type !== 'hidden' && !folded(el))
      .map((el) => ({ el, box: el.getBoundingClientRect() }))
      .filter(({ box }) => visible(box));
    // Each line of text in main, as the boxes of its text nodes' rendered lines.
    const lines: { el: Element; box: DOMRect }[] = [];
    const walker = document.createTreeWalker(document.querySelector('main') ?? document.body, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      if (!node.textContent || !node.textContent.trim() || !node.parentElement || folded(node.parentElement)) continue;
      const range = document.createRange();
      range.selectNodeContents(node);
      for (const box of Array.from(range.getClientRects())) {
        if (visible(box)) lines.push({ el: node.parentElement, box });
      }
    }
    // Boxes touching by less than a pixel do not count (rounding).
    const hit = (a: DOMRect, b: DOMRect) =>
      Math.min(a.right, b.right) - Math.max(a.left, b.left) > 1 && Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top) > 1;
    const found: string[] = [];
    for (let i = 0; i < controls.length; i++) {
      for (let j = i + 1; j < controls.length; j++) {
        const [a, b] = [controls[i], controls[j]];
        if (a.el.contains(b.el) || b.el.contains(a.el)) continue;
        if (hit(a.box, b.box)) found.push(`${describe(a.el)} overlaps ${describe(b.el)}`);
      }
      for (const line of lines) {
        const c = controls[i];
        if (c.el.contains(line.el) || line.el.contains(c.el) || c.el === line.el) continue;
        // A label's own text beside its field is fine; text inside the control is the control.
        if (line.el.closest('label') && (line.el.closest('label') as HTMLLabelElement).control === c.el) continue;
        if (hit(c.box, line.box)) found.push(`${describe(c.el)} overlaps the text ${describe(line.el)}`);
      }
    }
    return found;
  });
}

async function checkEveryWidth(page: Page, url: string, what: string, ready: () => Promise<void>) {
  for (const width of WIDTHS) {
    await page.setViewportSize({ width, height: 900 });
    await page.goto(url);
    await hydrated(page);
    await ready();
    expect(await overlaps(page), `${what} at ${width} px`).toEqual([]);
    const sideways = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(sideways, `${what} scrolls sideways at ${width} px`).toBeLessThanOrEqual(0);
  }
}

test('nothing overlaps or scrolls sideways at 390, 768, 1024 and 1280 px', async ({ page, server }) => {
  test.skip(test.info().project.name !== 'desktop', 'the widths are set here; once is enough');
  test.setTimeout(180_000);
  await readyUser(page, server);
  for (const name of ['Outlook 2010', 'A scanner in the basement with a long name']) {
    await page.goto(server.baseURL + '/security-info');
    await hydrated(page);
    const dialog = await openAppPasswordDialog(page);
    await dialog.getByLabel('Name').fill(name);
    await dialog.getByRole('button', { name: 'Next' }).click();
    await expect(dialog.getByRole('button', { name: 'Copy' })).toBeVisible();
    await dialog.getByRole('link', { name: 'Done' }).click();
  }
  addPerson(server, 'grace@contoso.example', 'a long enough password');

  await checkEveryWidth(page, server.baseURL + '/security-info', 'Security info', async () => {
    await expect(page.getByRole('list', { name: 'Your app passwords' }).getByRole('listitem')).toHaveCount(2);
  });
  await checkEveryWidth(page, server.baseURL + '/', 'My Profile', async () => {});
  await checkEveryWidth(page, server.baseURL + '/admin', 'the admin console', async () => {
    await expect(page.getByRole('list', { name: 'People' }).getByRole('listitem')).toHaveCount(2);
  });
});
