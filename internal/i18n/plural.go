package i18n

// Plural returns the CLDR plural category ("zero", "one", "two", "few",
// "many" or "other") of the whole number n in lang. It knows the rules of
// English, Arabic, Russian, French, Spanish and German (and of languages
// that share them); others get the English rule. The rules are those of
// CLDR 48 for integers; see
// https://www.unicode.org/cldr/charts/latest/supplemental/language_plural_rules.html.
func Plural(lang string, n int) string {
	if n < 0 {
		n = -n
	}
	switch base(lang) {
	case "ar":
		switch m := n % 100; {
		case n == 0:
			return "zero"
		case n == 1:
			return "one"
		case n == 2:
			return "two"
		case m >= 3 && m <= 10:
			return "few"
		case m >= 11:
			return "many"
		}
		return "other"
	case "ru", "uk", "be":
		switch m10, m100 := n%10, n%100; {
		case m10 == 1 && m100 != 11:
			return "one"
		case m10 >= 2 && m10 <= 4 && (m100 < 12 || m100 > 14):
			return "few"
		}
		return "many"
	case "fr":
		switch {
		case n == 0 || n == 1:
			return "one"
		case n%1_000_000 == 0:
			return "many"
		}
		return "other"
	case "es", "it":
		switch {
		case n == 1:
			return "one"
		case n != 0 && n%1_000_000 == 0:
			return "many"
		}
		return "other"
	}
	// English, German, Dutch, Swedish...: "one" for 1, "other" otherwise.
	if n == 1 {
		return "one"
	}
	return "other"
}
