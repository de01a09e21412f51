// The docs page as a person uses it, in Debian's headless Chromium (run by `cargo xtask
// api-check`, which sets BASE_URL, API_KEY, CHROMIUM and SCREENSHOT): the order operations are
// listed, "Authorize" takes the API key, "Try it out" on POST /orders with the sample answers
// 201, and a screenshot of the page is saved.
import { chromium } from "playwright-core";

const { BASE_URL, API_KEY, CHROMIUM, SCREENSHOT } = process.env;
const SAMPLE =
  '[{"customerId":"01","orderId":"50","timestamp":"1637245070513","items":[{"itemId":"20201","costEur":2}]}]';

function check(condition, message) {
  if (!condition) throw new Error(message);
  console.log(`docs page: ok: ${message}`);
}

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1400 } });
  page.setDefaultTimeout(20_000);
  // The page must work offline: anything but the server itself is refused and counted.
  const foreign = [];
  await page.route("**/*", (route) => {
    const url = new URL(route.request().url());
    if (`${url.protocol}//${url.host}` === BASE_URL) return route.continue();
    foreign.push(url.href);
    return route.abort();
  });

  await page.goto(`${BASE_URL}/docs`);
  await page.locator(".swagger-ui .info .title").waitFor();
  for (const [method, path] of [
    ["POST", "/orders"],
    ["GET", "/customers/{customerId}/items"],
    ["GET", "/customers/summaries"],
  ]) {
    const operation = page.locator(`.opblock-${method.toLowerCase()}`, {
      has: page.locator(".opblock-summary-path", { hasText: new RegExp(`^${path.replace(/[{}]/g, "\\$&")}$`) }),
    });
    await operation.first().waitFor();
    check((await operation.count()) === 1, `${method} ${path} is listed`);
  }

  // Authorize with the API key.
  await page.locator("button.authorize").first().click();
  const dialog = page.locator(".dialog-ux .modal-ux");
  const apiKeyForm = dialog.locator(".auth-container", {
    has: page.locator("h4", { hasText: "apiKey" }),
  });
  await apiKeyForm.locator("#api_key_value").fill(API_KEY);
  await apiKeyForm.locator("button.authorize").click();
  await apiKeyForm.locator("button", { hasText: "Logout" }).waitFor();
  check(true, "authorized with the API key");
  await dialog.locator("button.close-modal").click();

  // Try it out: POST /orders with the sample.
  const submit = page.locator("#operations-orders-submitOrders");
  await submit.locator(".opblock-summary").click();
  // The page opens operations ready to try (tryItOutEnabled): the button then reads "Cancel".
  const tryOut = submit.locator("button.try-out__btn");
  if ((await tryOut.innerText()).trim() === "Try it out") await tryOut.click();
  const body = submit.locator("textarea.body-param__text");
  await body.fill(SAMPLE);
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.url() === `${BASE_URL}/orders` && r.request().method() === "POST"),
    submit.locator("button.execute").click(),
  ]);
  check(
    response.request().headers()["x-api-key"] === API_KEY,
    "the request carried the API key",
  );
  const status = submit.locator(".live-responses-table .response .response-col_status").first();
  await status.waitFor();
  const shown = (await status.innerText()).trim();
  check(response.status() === 201 && shown === "201", `POST /orders answered ${shown} (201 expected)`);
  check(foreign.length === 0, `nothing was loaded from elsewhere (${foreign.join(", ") || "none"})`);

  // The answer as the page shows it, then the page with every operation listed.
  const tried = SCREENSHOT.replace(/\.png$/, "-try-it-out.png");
  await submit.locator(".responses-inner > div").first().screenshot({ path: tried });
  await submit.locator(".opblock-summary").click();
  await page.locator("#operations-orders-submitOrders .opblock-body").waitFor({ state: "detached" });
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: SCREENSHOT });
  console.log(`docs page: screenshots ${SCREENSHOT} and ${tried}`);
} finally {
  await browser.close();
}
