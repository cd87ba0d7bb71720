module github.com/heraldpush/herald

go 1.26.8
