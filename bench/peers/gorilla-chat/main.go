// Peer for roomcast's benchmark: a broadcast hub in the shape of
// gorilla/websocket's chat example (one hub goroutine, a buffered send
// channel of 256 per client, a reader and a writer goroutine per client;
// the writer joins every message already queued for its client into one
// text frame, separated by '\n', as that example does).
// Built from Debian's golang-go + golang-github-gorilla-websocket-dev:
//   GO111MODULE=off GOPATH=/usr/share/gocode go build -o gorilla-chat .
// Run: gorilla-chat -addr 127.0.0.1:PORT   (WebSocket at /ws)
package main

import (
	"bytes"
	"flag"
	"log"
	"net/http"
	"time"

	"github.com/gorilla/websocket"
)

const (
	writeWait      = 10 * time.Second
	pongWait       = 60 * time.Second
	pingPeriod     = (pongWait * 9) / 10
	maxMessageSize = 512
	sendQueue      = 256
)

type client struct {
	h    *hub
	conn *websocket.Conn
	send chan []byte
}

type hub struct {
	clients    map[*client]struct{}
	broadcast  chan []byte
	register   chan *client
	unregister chan *client
}

func (h *hub) run() {
	for {
		select {
		case c := <-h.register:
			h.clients[c] = struct{}{}
		case c := <-h.unregister:
			if _, ok := h.clients[c]; ok {
				delete(h.clients, c)
				close(c.send)
			}
		case m := <-h.broadcast:
			for c := range h.clients {
				select {
				case c.send <- m:
				default: // queue full: the client is dropped
					close(c.send)
					delete(h.clients, c)
				}
			}
		}
	}
}

var upgrader = websocket.Upgrader{ReadBufferSize: 1024, WriteBufferSize: 1024}

func (c *client) reader() {
	defer func() {
		c.h.unregister <- c
		c.conn.Close()
	}()
	c.conn.SetReadLimit(maxMessageSize)
	c.conn.SetReadDeadline(time.Now().Add(pongWait))
	c.conn.SetPongHandler(func(string) error {
		c.conn.SetReadDeadline(time.Now().Add(pongWait))
		return nil
	})
	for {
		_, msg, err := c.conn.ReadMessage()
		if err != nil {
			return
		}
		c.conn.SetReadDeadline(time.Now().Add(pongWait))
		c.h.broadcast <- bytes.TrimSpace(bytes.ReplaceAll(msg, []byte{'\n'}, []byte{' '}))
	}
}

func (c *client) writer() {
	t := time.NewTicker(pingPeriod)
	defer func() {
		t.Stop()
		c.conn.Close()
	}()
	for {
		select {
		case m, ok := <-c.send:
			c.conn.SetWriteDeadline(time.Now().Add(writeWait))
			if !ok {
				c.conn.WriteMessage(websocket.CloseMessage, []byte{})
				return
			}
			w, err := c.conn.NextWriter(websocket.TextMessage)
			if err != nil {
				return
			}
			w.Write(m)
			for i, n := 0, len(c.send); i < n; i++ {
				w.Write([]byte{'\n'})
				w.Write(<-c.send)
			}
			if err := w.Close(); err != nil {
				return
			}
		case <-t.C:
			c.conn.SetWriteDeadline(time.Now().Add(writeWait))
			if err := c.conn.WriteMessage(websocket.PingMessage, nil); err != nil {
				return
			}
		}
	}
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8092", "listen address")
	flag.Parse()
	h := &hub{
		clients:    make(map[*client]struct{}),
		broadcast:  make(chan []byte),
		register:   make(chan *client),
		unregister: make(chan *client),
	}
	go h.run()
	http.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		conn, err := upgrader.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		c := &client{h: h, conn: conn, send: make(chan []byte, sendQueue)}
		h.register <- c
		go c.writer()
		go c.reader()
	})
	srv := &http.Server{Addr: *addr, ReadHeaderTimeout: 3 * time.Second}
	log.Printf("gorilla-chat hub listening on %s/ws", *addr)
	log.Fatal(srv.ListenAndServe())
}
