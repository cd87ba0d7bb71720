package jsonreq

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"time"
)

var timeType = reflect.TypeFor[time.Time]()

// timePath returns the JSON path (a.b[2].c) of a time.Time field of t
// whose value in body is the string value, or "" if none is found:
// time.Time's UnmarshalJSON fails without saying where.
func timePath(body []byte, t reflect.Type, value string) string {
	var v any
	if t == nil || json.Unmarshal(body, &v) != nil {
		return ""
	}
	p, _ := walkTime(v, t, value, "")
	return p
}

func walkTime(v any, t reflect.Type, value, path string) (string, bool) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch val := v.(type) {
	case string:
		return path, t == timeType && val == value
	case map[string]any:
		if t.Kind() != reflect.Struct || t == timeType {
			return "", false
		}
		fields := jsonFields(t)
		for k, sub := range val {
			if ft, ok := fields[strings.ToLower(k)]; ok {
				if r, ok := walkTime(sub, ft, value, join(path, k)); ok {
					return r, true
				}
			}
		}
	case []any:
		if t.Kind() != reflect.Slice && t.Kind() != reflect.Array || t == rawMessage {
			return "", false
		}
		for i, sub := range val {
			if r, ok := walkTime(sub, t.Elem(), value, fmt.Sprintf("%s[%d]", path, i)); ok {
				return r, true
			}
		}
	}
	return "", false
}
