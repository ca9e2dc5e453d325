// Package browsertest holds Parley's end-to-end tests: the real server
// stack, a second server playing a news site that embeds Parley, and a
// real headless Chromium driven with chromedp. The tests run when
// PARLEY_TEST_CHROMIUM names a Chromium binary and skip, saying so,
// otherwise. The package has no code outside its tests.
package browsertest
