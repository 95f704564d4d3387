package verify

import (
	"strings"
)

// MaxName bounds a bundle name.
const MaxName = 100

// reservedNames would collide with a journal folder's own files or with
// device names on Windows.
var reservedNames = map[string]bool{
	"journal_number": true, "con": true, "prn": true, "aux": true, "nul": true,
	"com1": true, "com2": true, "com3": true, "com4": true, "com5": true, "com6": true, "com7": true, "com8": true, "com9": true,
	"lpt1": true, "lpt2": true, "lpt3": true, "lpt4": true, "lpt5": true, "lpt6": true, "lpt7": true, "lpt8": true, "lpt9": true,
}

// CheckName reports whether name may name a bundle (the zip's name without
// ".zip"): the authority's rule of letters, digits, '.', '-' and '_',
// starting with a letter or digit, at most 100 characters, no "..", and
// not a reserved name.
func CheckName(name string) error {
	if name == "" {
		return Errorf(CodeNameInvalid, "the bundle name is empty")
	}
	if len(name) > MaxName {
		return Errorf(CodeNameInvalid, "the name %q is %d characters long (at most %d)", name, len(name), MaxName)
	}
	for i, r := range name {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_'
		if !ok {
			return Errorf(CodeNameInvalid, "the name %q has the character %q at position %d", name, r, i+1)
		}
	}
	lower := strings.ToLower(name)
	switch {
	case !isAlnum(name[0]):
		return Errorf(CodeNameInvalid, "the name %q must start with a letter or digit", name)
	case strings.HasSuffix(name, "."):
		return Errorf(CodeNameInvalid, "the name %q must not end with a dot", name)
	case strings.Contains(name, ".."):
		return Errorf(CodeNameInvalid, "the name %q must not contain \"..\"", name)
	case strings.HasSuffix(lower, ".receipt"), strings.HasSuffix(lower, ".zip"), strings.HasSuffix(lower, ".c4gh"):
		return Errorf(CodeNameInvalid, "the name %q must not end in .receipt, .zip or .c4gh", name)
	case reservedNames[strings.SplitN(lower, ".", 2)[0]]:
		return Errorf(CodeNameInvalid, "the name %q is reserved", name)
	}
	return nil
}

// NameFromZip returns the bundle name for a zip file name: the name
// without ".zip", checked by CheckName.
func NameFromZip(file string) (string, error) {
	if !strings.HasSuffix(strings.ToLower(file), ".zip") {
		return "", Errorf(CodeNameInvalid, "%q does not end in .zip", file)
	}
	name := file[:len(file)-len(".zip")]
	if err := CheckName(name); err != nil {
		e := AsError(err)
		e.Detail = strings.Replace(e.Detail, "the name", "the zip name", 1)
		return "", e
	}
	return name, nil
}
