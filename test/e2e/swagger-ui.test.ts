import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import Fastify, { type FastifyInstance } from 'fastify'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import { chromium, type Browser, type Locator, type Page, type Response } from 'playwright-core'
import t, { type Test } from 'tap'
import oauth2Password from '../../lib/index.js'
import { SCOPES, SECRET, seedUsers, userView } from '../helpers/build-app.js'
import { startExampleServer } from '../helpers/example-server.js'

// Swagger UI in headless Chromium, as a developer uses it: Authorize with the password
// flow, "Try it out" on a protected route, reload. Every request the page makes is
// checked: nothing may leave the loopback interface (the docs are self-contained).
// UPDATE_SCREENSHOTS=1 rewrites the README's screenshots in docs/images/.

const CHROMIUM = '/usr/bin/chromium'
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]'])
const SCREENSHOTS = process.env.UPDATE_SCREENSHOTS === '1'
const IMAGES = fileURLToPath(new URL('../../docs/images/', import.meta.url))
const OUTSIDE_BLOCKED = 'blockedbyclient'

t.setTimeout(180_000)

function chromiumInstalled (t: Test): boolean {
  if (existsSync(CHROMIUM)) return true
  if (process.env.CI !== undefined && process.env.CI !== '') {
    t.fail(`${CHROMIUM} is not installed; CI runs the browser tests (apt-get install chromium)`)
  } else {
    t.plan(0, `${CHROMIUM} is not installed: Swagger UI browser tests skipped`)
  }
  return false
}

interface Docs {
  page: Page
  /** Requests the page tried to send off the loopback interface (all refused). */
  outside: string[]
}

/** A fresh browser context (own localStorage) on `${base}/docs`, with the UI loaded. */
async function openDocs (t: Test, browser: Browser, base: string): Promise<Docs> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 1200 } })
  t.teardown(() => context.close())
  const outside: string[] = []
  await context.route('**/*', async function loopbackOnly (route) {
    const url = new URL(route.request().url())
    if (LOOPBACK.has(url.hostname)) return await route.continue()
    outside.push(url.href)
    await route.abort(OUTSIDE_BLOCKED)
  })
  const page = await context.newPage()
  await page.goto(`${base}/docs`)
  await page.locator('.scheme-container .btn.authorize').waitFor()
  return { page, outside }
}

interface Login {
  username: string
  password: string
  scopes: readonly string[]
  /** Swagger UI's "Client credentials location": `basic` (its default) or `request-body`. */
  location: 'basic' | 'request-body'
  clientId?: string
  clientSecret?: string
  /** Where to save a screenshot of the filled-in dialog. */
  screenshot?: string
}

/** Fills the password flow's part of the Authorize dialog and presses its Authorize; resolves with the token response. */
async function authorize (page: Page, login: Login): Promise<{ response: Response, dialog: Locator }> {
  await page.locator('.scheme-container .btn.authorize').click()
  // The dialog lists every scheme of the document: work in the password flow's part
  const dialog = page.locator('.modal-ux .auth-container').filter({ has: page.locator('h4', { hasText: 'OAuth2PasswordBearer (OAuth2, password)' }) })
  await dialog.locator('#oauth_username').fill(login.username)
  await dialog.locator('#oauth_password').fill(login.password)
  await dialog.locator('#password_type').selectOption(login.location)
  if (login.clientId !== undefined) await dialog.locator('#client_id_password').fill(login.clientId)
  if (login.clientSecret !== undefined) await dialog.locator('#client_secret_password').fill(login.clientSecret)
  for (const scope of login.scopes) {
    const checkbox = dialog.locator(`#${scope}-password-checkbox-OAuth2PasswordBearer`)
    await dialog.locator(`label[for="${scope}-password-checkbox-OAuth2PasswordBearer"]`).click()
    if (!await checkbox.isChecked()) throw new Error(`the ${scope} scope did not tick`)
  }
  if (login.screenshot !== undefined) {
    // The dialog scrolls past 540 px: show the password flow whole in the picture
    await page.addStyleTag({ content: '.swagger-ui .dialog-ux .modal-ux-content { max-height: none }' })
    await dialog.screenshot({ path: login.screenshot })
  }
  const [response] = await Promise.all([
    page.waitForResponse((response) => response.request().method() === 'POST' && response.url().endsWith('/token')),
    dialog.locator('.auth-btn-wrapper .authorize').click()
  ])
  return { response, dialog }
}

async function closeDialog (dialog: Locator): Promise<void> {
  await dialog.locator('.auth-btn-wrapper .btn-done').click()
  await dialog.page().locator('.modal-ux').waitFor({ state: 'detached' })
}

/** Expands an operation, presses "Try it out" and "Execute"; resolves with the API's response. */
async function tryItOut (page: Page, operation: string, path: string): Promise<{ response: Response, block: Locator }> {
  const block = page.locator(`#${operation}`)
  await block.locator('.opblock-summary').click()
  await block.locator('.try-out__btn').click()
  const [response] = await Promise.all([
    page.waitForResponse((response) => new URL(response.url()).pathname === path),
    block.locator('.execute').click()
  ])
  await block.locator('.live-responses-table .response-col_status').first().waitFor()
  return { response, block }
}

/** What the UI shows of the executed call: status code and response body text. */
async function shownResponse (block: Locator): Promise<{ status: string, body: string }> {
  const row = block.locator('.live-responses-table tbody tr').first()
  return {
    status: (await row.locator('.response-col_status').innerText()).trim(),
    body: await row.locator('.response-col_description .microlight').first().innerText()
  }
}

/** The operation from its summary line down to the live response, without the documented responses below. */
async function screenshotCall (page: Page, block: Locator, path: string): Promise<void> {
  await page.evaluate('window.scrollTo(0, 0)')
  const top = await block.boundingBox()
  const bottom = await block.locator('.live-responses-table').boundingBox()
  if (top === null || bottom === null) throw new Error('the operation is not rendered')
  await page.screenshot({ path, fullPage: true, clip: { x: top.x, y: top.y, width: top.width, height: bottom.y + bottom.height - top.y + 16 } })
}

function formOf (response: Response): Record<string, string> {
  return Object.fromEntries(new URLSearchParams(response.request().postData() ?? ''))
}

function basic (id: string, secret: string): string {
  return `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`
}

async function launch (t: Test): Promise<Browser> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update']
  })
  t.teardown(() => browser.close())
  return browser
}

async function listening (t: Test, app: FastifyInstance): Promise<string> {
  t.teardown(() => app.close())
  return await app.listen({ host: '127.0.0.1', port: 0 })
}

if (chromiumInstalled(t)) {
  const browser = await launch(t)
  // The example server as `npm run example` runs it, on a free loopback port with bcrypt cost 4
  const example = await startExampleServer(t, { JWT_SECRET: SECRET, DATABASE: ':memory:' })

  t.test('the example\'s /docs: Authorize, Try it out, reload', async (t) => {
    const { page, outside } = await openDocs(t, browser, example.url)

    const { response: login, dialog } = await authorize(page, {
      username: 'johndoe',
      password: 'secret',
      scopes: ['me', 'items'],
      location: 'request-body',
      ...(SCREENSHOTS ? { screenshot: `${IMAGES}authorize-dialog.png` } : {})
    })
    t.test('the dialog logs in with the password flow, requesting the chosen scopes', async (t) => {
      t.equal(login.status(), 200)
      t.same(formOf(login), { grant_type: 'password', scope: 'me items', username: 'johndoe', password: 'secret' })
      t.equal(login.request().headers().authorization, undefined, 'no client: no Authorization header')
      t.equal(login.request().headers()['content-type'], 'application/x-www-form-urlencoded')
      const body = await login.json() as { token_type: string, scope: string }
      t.equal(body.token_type, 'bearer')
      t.equal(body.scope, 'me items')
      await dialog.locator('.auth-btn-wrapper button', { hasText: 'Logout' }).waitFor()
      t.match(await dialog.innerText(), /Authorized/)
    })
    await closeDialog(dialog)
    const token = (await login.json() as { access_token: string }).access_token

    t.test('Try it out on GET /users/me sends the token and shows 200 with johndoe', async (t) => {
      const { response, block } = await tryItOut(page, 'operations-users-readUsersMe', '/users/me')
      t.equal(response.request().headers().authorization, `Bearer ${token}`)
      t.equal(response.status(), 200)
      const shown = await shownResponse(block)
      t.equal(shown.status, '200')
      t.same(JSON.parse(shown.body), { username: 'johndoe', email: 'johndoe@example.com', full_name: 'John Doe', disabled: false })
      if (SCREENSHOTS) await screenshotCall(page, block, `${IMAGES}authorized-call.png`)
    })

    t.test('the authorization survives a reload (persistAuthorization)', async (t) => {
      await page.reload()
      await page.locator('.scheme-container .btn.authorize.locked').waitFor()
      const { response, block } = await tryItOut(page, 'operations-users-readOwnItems', '/users/me/items')
      t.equal(response.request().headers().authorization, `Bearer ${token}`)
      const shown = await shownResponse(block)
      t.equal(shown.status, '200')
      t.same(JSON.parse(shown.body), [{ item_id: 'Foo', owner: 'johndoe' }])
    })

    t.test('no asset came from outside the app', async (t) => {
      t.same(outside, [])
    })
  })

  t.test('the example\'s /docs: a scope left unticked is not granted', async (t) => {
    const { page, outside } = await openDocs(t, browser, example.url)
    const { response: login, dialog } = await authorize(page, { username: 'johndoe', password: 'secret', scopes: ['me'], location: 'request-body' })
    t.equal(login.status(), 200)
    t.equal(formOf(login).scope, 'me')
    await closeDialog(dialog)
    const { response, block } = await tryItOut(page, 'operations-users-readOwnItems', '/users/me/items')
    t.equal(response.status(), 403)
    t.equal(response.headers()['www-authenticate'], 'Bearer realm="api", error="insufficient_scope", error_description="Not enough permissions", scope="me items"')
    t.equal((await shownResponse(block)).status, '403')
    t.same(outside, [])
  })

  t.test('the example\'s /docs: the dialog as it opens (client credentials location "Authorization header", no client)', async (t) => {
    const { page } = await openDocs(t, browser, example.url)
    const { response: login, dialog } = await authorize(page, { username: 'johndoe', password: 'secret', scopes: ['me'], location: 'basic' })
    t.equal(login.request().headers().authorization, basic('', ''), 'what Swagger UI sends')
    t.equal(login.status(), 200)
    await dialog.locator('.auth-btn-wrapper button', { hasText: 'Logout' }).waitFor({ timeout: 5000 })
  })

  t.test('registered clients: id and secret in the body or in a Basic header', async (t) => {
    const users = seedUsers()
    const app = Fastify()
    await app.register(swagger, { openapi: { openapi: '3.1.0', info: { title: 'Clients', version: '1.0.0' } } })
    await app.register(oauth2Password, {
      secret: SECRET,
      scopes: SCOPES,
      bcrypt: { cost: 4 },
      clients: { docs: {}, backend: { secret: 'backend-secret' } },
      users: { findByUsername: (name) => users.get(name) ?? null, findById: (id) => userView(users.get(id)) }
    })
    app.get('/users/me', {
      schema: { security: app.oauth2.requirement('me'), response: { 200: { type: 'object', properties: { id: { type: 'string' } } } } }
    }, async (request) => await request.currentUser())
    await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { persistAuthorization: true } })
    const base = await listening(t, app)

    const cases = [
      { name: 'a public client, id in the body', location: 'request-body', clientId: 'docs', form: { client_id: 'docs' }, authorization: undefined },
      { name: 'a public client, Basic header', location: 'basic', clientId: 'docs', form: {}, authorization: basic('docs', '') },
      { name: 'a confidential client, secret in the body', location: 'request-body', clientId: 'backend', clientSecret: 'backend-secret', form: { client_id: 'backend', client_secret: 'backend-secret' }, authorization: undefined },
      { name: 'a confidential client, Basic header', location: 'basic', clientId: 'backend', clientSecret: 'backend-secret', form: {}, authorization: basic('backend', 'backend-secret') }
    ] as const
    for (const { name, form, authorization, ...client } of cases) {
      t.test(name, async (t) => {
        const { page, outside } = await openDocs(t, browser, base)
        const { response: login, dialog } = await authorize(page, { username: 'johndoe', password: 'secret', scopes: ['me'], ...client })
        t.same(formOf(login), { grant_type: 'password', scope: 'me', username: 'johndoe', password: 'secret', ...form })
        t.equal(login.request().headers().authorization, authorization)
        t.equal(login.status(), 200)
        await dialog.locator('.auth-btn-wrapper button', { hasText: 'Logout' }).waitFor()
        await closeDialog(dialog)
        const { response } = await tryItOut(page, 'operations-default-get_users_me', '/users/me')
        t.equal(response.status(), 200)
        t.same(await response.json(), { id: 'johndoe' })
        t.same(outside, [])
      })
    }

    t.test('a wrong password: the dialog shows the refusal and stays logged out', async (t) => {
      const { page } = await openDocs(t, browser, base)
      const { response: login, dialog } = await authorize(page, {
        username: 'johndoe', password: 'wrong', scopes: ['me'], location: 'request-body', clientId: 'docs'
      })
      t.equal(login.status(), 400)
      t.same(await login.json(), { error: 'invalid_grant', error_description: 'Incorrect username or password' })
      await dialog.locator('.errors').waitFor()
      t.match(await dialog.locator('.errors').innerText(), /invalid_grant/)
      t.equal(await dialog.locator('.auth-btn-wrapper button', { hasText: 'Logout' }).count(), 0)
    })
  })

  t.test('under a route prefix, behind servers [{ url: "/api" }]: the token request and the calls go below /api', async (t) => {
    const users = seedUsers()
    const app = Fastify()
    await app.register(swagger, { openapi: { openapi: '3.1.0', info: { title: 'Prefixed', version: '1.0.0' }, servers: [{ url: '/api' }] } })
    await app.register(async function api (child) {
      await child.register(oauth2Password, {
        secret: SECRET,
        scopes: SCOPES,
        bcrypt: { cost: 4 },
        users: { findByUsername: (name) => users.get(name) ?? null, findById: (id) => userView(users.get(id)) }
      })
      child.get('/me', {
        schema: { security: child.oauth2.requirement('me'), response: { 200: { type: 'object', properties: { id: { type: 'string' } } } } }
      }, async (request) => await request.currentUser())
    }, { prefix: '/api' })
    await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { persistAuthorization: true } })
    const base = await listening(t, app)
    const { page, outside } = await openDocs(t, browser, base)
    const { response: login, dialog } = await authorize(page, { username: 'johndoe', password: 'secret', scopes: ['me'], location: 'request-body' })
    t.equal(new URL(login.url()).pathname, '/api/token')
    t.equal(login.status(), 200)
    await closeDialog(dialog)
    const { response } = await tryItOut(page, 'operations-default-get_me', '/api/me')
    t.equal(response.status(), 200)
    t.same(await response.json(), { id: 'johndoe' })
    t.same(outside, [])
  })
}
