package kafka

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aimdb-go/aimdb/connector"
	"github.com/twmb/franz-go/pkg/kgo"
)

// A session is one franz-go client.
type session struct {
	d      *Dialer
	cl     *kgo.Client
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	done     chan struct{}
	lostOnce sync.Once

	mu      sync.Mutex
	links   map[string][]sub // by Kafka topic
	polling bool
	refused bool // a message was refused: commit nothing after it
}

type sub struct {
	filter  string
	deliver func(*connector.Message)
}

var _ connector.Session = (*session)(nil)

func (s *session) lost() { s.lostOnce.Do(func() { close(s.done) }) }

func (s *session) Done() <-chan struct{} { return s.done }

// watch pings a broker every PingInterval; a ping that fails ends the
// session.
func (s *session) watch() {
	t := time.NewTicker(s.d.opts.PingInterval)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(s.ctx, s.d.opts.PingInterval)
		err := s.cl.Ping(ctx)
		cancel()
		if err != nil && s.ctx.Err() == nil {
			s.lost()
			return
		}
	}
}

// Publish produces m to its topic with its key and waits for the
// acknowledgement of every in-sync replica.
func (s *session) Publish(ctx context.Context, m *connector.Message) error {
	if closed(s.done) {
		return connector.ErrNotConnected
	}
	name, key := SplitTopic(m.Topic)
	r := &kgo.Record{Topic: name, Value: append([]byte(nil), m.Payload...)}
	if key != "" {
		r.Key = []byte(key)
	}
	ctx, cancel := context.WithTimeout(ctx, s.d.opts.PublishTimeout)
	defer cancel()
	if err := s.cl.ProduceSync(ctx, r).FirstErr(); err != nil {
		if closed(s.done) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, kgo.ErrRecordTimeout) || errors.Is(err, kgo.ErrClientClosed) {
			s.lost()
			return fmt.Errorf("%w: %v", connector.ErrNotConnected, err)
		}
		return err
	}
	return nil
}

// Subscribe adds l's Kafka topic to the group's topics; messages whose
// topic/key matches l.Topic go to deliver.
func (s *session) Subscribe(ctx context.Context, l *connector.Link, deliver func(m *connector.Message)) error {
	name, _ := SplitTopic(l.Topic)
	s.mu.Lock()
	_, known := s.links[name]
	s.links[name] = append(s.links[name], sub{l.Topic, deliver})
	start := !s.polling
	s.polling = true
	s.mu.Unlock()
	if !known {
		s.cl.AddConsumeTopics(name)
	}
	if start {
		s.wg.Go(s.poll)
	}
	return nil
}

// poll delivers fetched records to the links whose filter matches, and
// marks each for commit once delivered.
func (s *session) poll() {
	var subs []sub
	for {
		fs := s.cl.PollFetches(s.ctx)
		if s.ctx.Err() != nil || fs.IsClientClosed() {
			return
		}
		fs.EachRecord(func(r *kgo.Record) {
			topic := r.Topic
			if len(r.Key) > 0 {
				topic += "/" + string(r.Key)
			}
			p := partition{r.Topic, r.Partition}
			s.d.mu.Lock()
			high, seen := s.d.high[p]
			s.d.mu.Unlock()
			if seen && r.Offset <= high {
				s.d.duplicates.Add(1)
				return
			}
			s.mu.Lock()
			subs = append(subs[:0], s.links[r.Topic]...)
			refused := s.refused
			s.mu.Unlock()
			m := connector.Message{Topic: topic, Payload: r.Value}
			matched := false
			for _, sb := range subs {
				if connector.MatchTopic(sb.filter, topic) {
					matched = true
					m.Refused = false
					sb.deliver(&m)
					if m.Refused {
						refused = true
					}
				}
			}
			if !matched {
				s.d.unmatched.Add(1)
			}
			if refused {
				s.mu.Lock()
				s.refused = true
				s.mu.Unlock()
				return
			}
			s.d.mu.Lock()
			if s.d.high == nil {
				s.d.high = map[partition]int64{}
			}
			s.d.high[p] = r.Offset
			s.d.mu.Unlock()
			s.cl.MarkCommitRecords(r)
			s.d.committed.Add(1)
		})
	}
}

// Close commits the offsets of what was stored, leaves the group and
// closes the client.
func (s *session) Close() error {
	s.cancel()
	s.wg.Wait()
	wait := s.d.opts.PublishTimeout
	if closed(s.done) {
		wait = s.d.opts.PingInterval // the brokers were not answering
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	_ = s.cl.CommitMarkedOffsets(ctx)
	cancel()
	s.cl.Close()
	s.lost()
	return nil
}

func closed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}
