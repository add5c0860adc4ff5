// The web pages in a real browser, as a shop owner and a customer use them:
// found by their visible labels, on a desktop and on a phone-sized screen.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startService, startBrowser, watchedPage, shot, signIn, OWNER_PASSWORD } from "./harness.mjs";

let svc;
let browser;
let customerPage;

before(async () => {
  svc = await startService();
  browser = await startBrowser();
});

after(async () => {
  await browser?.close();
  svc?.stop();
});

const text = async (page, selector) => (await page.locator(selector).first().innerText()).trim();

test("staff sign in, add a customer, a due and a payment, and see the balance", async () => {
  const { page, problems, context } = await watchedPage(browser);
  await signIn(page, svc.base, "admin", OWNER_PASSWORD);
  await page.waitForURL("**/dashboard");
  assert.equal(await text(page, "h1"), "Dashboard");

  const nav = page.getByRole("navigation", { name: "Main" });
  await nav.getByRole("link", { name: "Customers" }).click();
  await page.waitForURL("**/customers");
  await page.getByRole("link", { name: "Add customer" }).first().click();
  await page.getByLabel("Name").fill("Asha Rao");
  await page.getByLabel("Phone").fill("+91 98765 43210");
  await page.getByLabel("Email").fill("asha@example.com");
  await page.getByRole("button", { name: "Add customer" }).click();
  await page.waitForURL(/\/customers\/\d+$/);
  customerPage = page.url();
  assert.match(await text(page, ".flash"), /Added Asha Rao/);

  await page.getByRole("link", { name: "Add due" }).click();
  await page.getByLabel(/Amount/).fill("1500");
  await page.getByLabel("What for").fill("Rice and dal");
  await page.getByLabel("Due date").fill("2026-01-10");
  await page.getByRole("button", { name: "Add due" }).click();
  await page.waitForURL(customerPage);
  assert.equal(await text(page, "[data-testid=balance]"), "₹1,500.00");

  // A bad amount is refused next to its field and nothing changes.
  await page.getByRole("link", { name: "Record payment" }).click();
  await page.getByLabel(/Amount/).fill("12.345");
  await page.getByRole("button", { name: "Record payment" }).click();
  assert.match(await text(page, "#amount-error"), /decimal places/);
  await shot(page, "record-payment-error");

  await page.getByLabel(/Amount/).fill("500");
  await page.getByLabel("Method").selectOption("upi");
  await page.getByLabel("Reference").fill("UTR1234");
  await page.getByRole("button", { name: "Record payment" }).click();
  await page.waitForURL(customerPage);
  assert.match(await text(page, ".flash"), /Recorded a payment of ₹500.00/);
  assert.equal(await text(page, "[data-testid=balance]"), "₹1,000.00");
  await shot(page, "customer-desktop");

  await nav.getByRole("link", { name: "Dashboard" }).click();
  assert.equal(await text(page, "[data-testid=total-outstanding]"), "₹1,000.00");
  await shot(page, "dashboard-desktop");
  await nav.getByRole("link", { name: "Customers" }).click();
  await shot(page, "customers-desktop");

  // The owner renames the shop; every page shows the new name at once.
  await nav.getByRole("link", { name: "Settings" }).click();
  await page.getByLabel("Shop name").fill("Sharma & Sons General Store");
  await page.getByLabel("Currency").fill("USD");
  await page.getByRole("button", { name: "Save settings" }).click();
  assert.match(await text(page, ".field .error"), /cannot change once dues or payments are recorded/);
  await page.getByLabel("Currency").fill("INR");
  await page.getByRole("button", { name: "Save settings" }).click();
  assert.match(await text(page, ".flash"), /Settings saved/);
  assert.equal(await text(page, ".brand"), "Sharma & Sons General Store");
  await shot(page, "settings-desktop");
  assert.deepEqual(problems, []);
  await context.close();
});

test("a customer sets a password from the invitation, pays part, and sees the confirmed balance", async () => {
  const link = svc.linkFor("asha@example.com");
  assert.ok(link, "the invitation was written to the outbox");
  const customer = await watchedPage(browser, { width: 390, height: 844 });
  const page = customer.page;
  await page.goto(link);
  await page.getByLabel("New password").fill("monsoon mango tree");
  await page.getByLabel("Type it again").fill("monsoon mango tree");
  await page.getByRole("button", { name: "Set password" }).click();
  assert.match(await text(page, ".card"), /Your password is set/);
  // The link works once.
  await page.goto(link);
  await page.getByLabel("New password").fill("another long secret");
  await page.getByLabel("Type it again").fill("another long secret");
  await page.getByRole("button", { name: "Set password" }).click();
  assert.match(await text(page, ".flash-error"), /already used/);

  await signIn(page, svc.base, "asha@example.com", "monsoon mango tree");
  await page.waitForURL("**/portal");
  assert.equal(await text(page, "[data-testid=portal-balance]"), "₹1,000.00");
  assert.ok(await page.locator(".qr svg").count(), "a UPI QR code is shown");
  await shot(page, "portal-phone");

  const pay = page.locator("form[action='/portal/pay']");
  await pay.getByLabel(/Amount paid/).fill("400");
  await pay.getByLabel("Reference").fill("UPI998877");
  await pay.getByRole("button", { name: "Pay" }).click();
  await page.waitForURL("**/portal");
  assert.match(await text(page, ".flash"), /pending/);
  assert.equal(await text(page, "[data-testid=portal-balance]"), "₹1,000.00", "the balance waits for the shop");

  const staff = await watchedPage(browser);
  await signIn(staff.page, svc.base, "admin", OWNER_PASSWORD);
  await staff.page.waitForURL("**/dashboard");
  await staff.page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: /Pending/ }).click();
  await shot(staff.page, "pending-desktop");
  await staff.page.getByRole("button", { name: "Confirm payment" }).click();
  assert.match(await text(staff.page, ".flash"), /Confirmed ₹400.00/);

  await page.reload();
  assert.equal(await text(page, "[data-testid=portal-balance]"), "₹600.00");
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Payments" }).click();
  await shot(page, "portal-payments-phone");
  await page.getByRole("link", { name: /Receipt #/ }).first().click();
  assert.match(await text(page, "article"), /₹400.00/);
  await shot(page, "receipt-phone");
  assert.deepEqual(customer.problems, []);
  assert.deepEqual(staff.problems, []);
  await customer.context.close();
  await staff.context.close();
});

test("on a 360 px phone no page scrolls sideways", async () => {
  const { page, problems, context } = await watchedPage(browser, { width: 360, height: 740 });
  await signIn(page, svc.base, "admin", OWNER_PASSWORD);
  await page.waitForURL("**/dashboard");
  const pages = ["/dashboard", "/customers", new URL(customerPage).pathname, "/payments/pending", "/emails", "/staff", "/notifications"];
  for (const path of pages) {
    await page.goto(`${svc.base}${path}`);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `${path} scrolls sideways by ${overflow}px`);
    await shot(page, `phone${path.replaceAll("/", "-")}`);
  }
  // Keyboard users reach the content first.
  await page.goto(`${svc.base}/dashboard`);
  await page.keyboard.press("Tab");
  assert.equal(await page.evaluate(() => document.activeElement.textContent), "Skip to content");
  assert.deepEqual(problems, []);
  await context.close();
});

test("every input on the main pages has a label", async () => {
  const { page, problems, context } = await watchedPage(browser);
  await signIn(page, svc.base, "admin", OWNER_PASSWORD);
  await page.waitForURL("**/dashboard");
  for (const path of ["/customers", "/customers/new", new URL(customerPage).pathname, "/notifications", "/staff"]) {
    await page.goto(`${svc.base}${path}`);
    const unlabelled = await page.evaluate(() =>
      [...document.querySelectorAll("input:not([type=hidden]), select, textarea")]
        .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute("aria-label"))
        .map((el) => el.name || el.id),
    );
    assert.deepEqual(unlabelled, [], `${path} has inputs without a label`);
  }
  assert.deepEqual(problems, []);
  await context.close();
});
