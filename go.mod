module github.com/switchboard-ws/switchboard

go 1.26
