package clients

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"path"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// S3 part sizes. S3 refuses parts under 5 MiB (except the last) and
// uploads of more than 10,000 parts.
const (
	S3MinPartSize     = 5 << 20
	S3DefaultPartSize = 16 << 20
	maxParts          = 10000
)

// S3Options tune an S3 store. The zero value talks to AWS S3 in the region
// the AWS configuration names (us-east-1 if none), with the credentials of
// the standard chain: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, then the
// shared config and credentials files (AWS_PROFILE or Profile).
type S3Options struct {
	// Endpoint is the URL of an S3-compatible server (MinIO, Ceph,
	// versitygw, …), addressed path-style. Empty means AWS. Plain http is
	// allowed only to this machine.
	Endpoint string
	// Region signs requests; default the AWS configuration's, else us-east-1.
	Region string
	// PartSize is the size of a multipart upload's parts (default 16 MiB,
	// at least 5 MiB). A known size that would need more than 10,000 parts
	// gets larger parts. Memory use is about (Concurrency+1)*PartSize.
	PartSize int64
	// Concurrency is how many parts are sent at once (default 4).
	Concurrency int
	// Profile names a profile in the shared AWS config files.
	Profile string
	// InstanceMetadata lets the SDK take keys from the EC2 instance
	// metadata service, for a gateway running on EC2. Off by default.
	InstanceMetadata bool
	// KeepPartial keeps the parts of a multipart upload that was cancelled
	// (context cancelled), so that the next Put of the same key resumes it.
	// Without it a cancel aborts the upload. Failures worth retrying (lost
	// connections, server errors) always keep the parts; refusals abort.
	KeepPartial bool
	// NoResume aborts a multipart upload on any failure and never resumes
	// one: for data that is new on every try (siirto send encrypts afresh).
	NoResume bool
}

// S3 is a store under a prefix of an S3 bucket. Folders are key prefixes:
// a path p is the key prefix+p, and a folder is every key under "p/".
//
// Mkdir writes a zero-byte marker object "p/" (as the AWS console's
// "Create folder" does), so that an empty folder exists for Stat and List;
// it needs no parent and succeeds if the folder is already there. A folder
// also exists without a marker while any key lies under it, and Put writes
// into a folder whether or not it was made. The root exists whenever the
// bucket does. Removing a missing file succeeds, as DeleteObject does.
//
// Put sends a file of up to one part in a single PutObject (held in memory
// to be signed), and larger or unknown-length files as a multipart upload,
// which S3 shows under its name only once complete, so no temporary name
// is needed. An unfinished multipart upload left on the server (by
// KeepPartial, a lost connection, or a killed process) is resumed by the
// next Put of the same key: the parts whose size and MD5 match the data
// are not sent again, so no state file is needed either. Every part is
// sent with its Content-MD5, which the server checks.
type S3 struct {
	c           *s3.Client
	bucket      string
	prefix      string // "" or ending in "/"
	partSize    int64
	concurrency int
	keepPartial bool
	noResume    bool
}

// NewS3 returns the store under prefix in bucket.
func NewS3(ctx context.Context, bucket, prefix string, o S3Options) (*S3, error) {
	if bucket == "" || strings.ContainsAny(bucket, "/\\") {
		return nil, fmt.Errorf("%w: %q is not an S3 bucket name", ErrTarget, bucket)
	}
	prefix = strings.TrimLeft(prefix, "/")
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	if o.PartSize == 0 {
		o.PartSize = S3DefaultPartSize
	}
	if o.PartSize < S3MinPartSize {
		return nil, fmt.Errorf("s3: a part size of %d bytes is under S3's minimum of 5 MiB", o.PartSize)
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 4
	}
	if o.Endpoint != "" {
		u, err := url.Parse(o.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("%w: the S3 endpoint %q is not an http(s) URL", ErrTarget, o.Endpoint)
		}
		if u.User != nil {
			return nil, fmt.Errorf("%w: put no credentials in the S3 endpoint; use AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY or a profile", ErrTarget)
		}
		if u.Scheme == "http" && !IsLoopback(u.Hostname()) {
			return nil, fmt.Errorf("%w: plain http is allowed only to this machine; use https", ErrTarget)
		}
	}

	opts := []func(*config.LoadOptions) error{
		config.WithRequestChecksumCalculation(aws.RequestChecksumCalculationWhenRequired),
		config.WithResponseChecksumValidation(aws.ResponseChecksumValidationWhenRequired),
	}
	if !o.InstanceMetadata {
		// Without keys, the SDK would otherwise ask the EC2 metadata service
		// at 169.254.169.254: a desktop or a controller's server has none,
		// and should not send requests there.
		opts = append(opts, config.WithEC2IMDSClientEnableState(imds.ClientDisabled))
	}
	if o.Profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(o.Profile))
	}
	if o.Region != "" {
		opts = append(opts, config.WithRegion(o.Region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("s3: reading the AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	// Fail now, with advice, rather than on the first request.
	if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, ctxErr
		}
		return nil, fmt.Errorf("%w: no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or a profile (%v)", ErrAuth, err)
	}
	c := s3.NewFromConfig(cfg, func(so *s3.Options) {
		if o.Endpoint != "" {
			so.BaseEndpoint = aws.String(o.Endpoint)
			so.UsePathStyle = true
		}
	})
	return &S3{c: c, bucket: bucket, prefix: prefix, partSize: o.PartSize, concurrency: o.Concurrency, keepPartial: o.KeepPartial, noResume: o.NoResume}, nil
}

// S3Access is where an S3 store points and with which keys: what another
// S3 client (the gateway's MinIO event listener) needs to reach the same
// objects.
type S3Access struct {
	Endpoint    string // "" for AWS
	Region      string
	Bucket      string
	Prefix      string // "" or ending in "/"
	Credentials aws.Credentials
}

// Access returns the store's endpoint, bucket, prefix and current keys.
func (s *S3) Access(ctx context.Context) (S3Access, error) {
	o := s.c.Options()
	creds, err := o.Credentials.Retrieve(ctx)
	if err != nil {
		return S3Access{}, fmt.Errorf("%w: no S3 credentials: %v", ErrAuth, err)
	}
	return S3Access{Endpoint: aws.ToString(o.BaseEndpoint), Region: o.Region, Bucket: s.bucket, Prefix: s.prefix, Credentials: creds}, nil
}

// key turns a store path into an object key ("" is the root, the prefix),
// refusing paths that are not plain and relative.
func (s *S3) key(p string) (string, error) {
	clean, err := cleanPath(p)
	if err != nil {
		return "", err
	}
	if clean == "/" {
		return s.prefix, nil
	}
	return s.prefix + clean[1:], nil
}

// dirKey is the key prefix of the folder at key: key+"/", or the prefix
// itself for the root.
func (s *S3) dirKey(key string) string {
	if key == s.prefix {
		return key
	}
	return key + "/"
}

// Stat implements Store.
func (s *S3) Stat(ctx context.Context, p string) (Info, error) {
	key, err := s.key(p)
	if err != nil {
		return Info{}, err
	}
	if key == s.prefix {
		_, err := s.c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &s.bucket})
		if err != nil {
			return Info{}, s.headErr(ctx, p, err, true)
		}
		name := s.bucket
		if s.prefix != "" {
			name = path.Base(s.prefix)
		}
		return Info{Name: name, Dir: true}, nil
	}
	name := path.Base(key)
	head, err := s.c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &s.bucket, Key: &key})
	if err == nil {
		return Info{Name: name, Size: aws.ToInt64(head.ContentLength), ModTime: aws.ToTime(head.LastModified)}, nil
	}
	if err = s.headErr(ctx, p, err, false); !errors.Is(err, ErrNotFound) {
		return Info{}, err
	}
	// No such object: a folder if any key lies under it.
	out, err := s.c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{
		Bucket: &s.bucket, Prefix: aws.String(key + "/"), MaxKeys: aws.Int32(1),
	})
	if err != nil {
		return Info{}, mapS3(ctx, "stat", p, err)
	}
	if len(out.Contents) == 0 && len(out.CommonPrefixes) == 0 {
		return Info{}, statusErr("stat", p, 404)
	}
	return Info{Name: name, Dir: true}, nil
}

// headErr maps the error of a HEAD request. Its answer has no body, so a
// 403 does not tell a wrong key from a refusal, nor (on versitygw, which
// answers an unknown key 404) a 404 of the bucket a missing bucket from an
// unknown key: then a listing, whose answer names the reason, tells them
// apart. A 404 of an object is followed by a listing anyway (see Stat).
func (s *S3) headErr(ctx context.Context, p string, err error, bucket bool) error {
	var api smithy.APIError
	isAPI := errors.As(err, &api)
	if err = mapS3(ctx, "stat", p, err); !isAPI {
		return err
	}
	if code := api.ErrorCode(); code != "Forbidden" && !(bucket && code == "NotFound") {
		return err
	}
	_, lerr := s.c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &s.bucket, Prefix: &s.prefix, MaxKeys: aws.Int32(1)})
	if lerr = mapS3(ctx, "stat", p, lerr); errors.Is(lerr, ErrAuth) {
		return lerr
	}
	return err
}

// List implements Store. A folder that holds nothing (no key, no marker)
// is ErrNotFound, except the root.
func (s *S3) List(ctx context.Context, dir string) ([]Info, error) {
	key, err := s.key(dir)
	if err != nil {
		return nil, err
	}
	prefix := s.dirKey(key)
	var out []Info
	seen := false
	pages := s3.NewListObjectsV2Paginator(s.c, &s3.ListObjectsV2Input{
		Bucket: &s.bucket, Prefix: &prefix, Delimiter: aws.String("/"),
	})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, mapS3(ctx, "list", dir, err)
		}
		for _, o := range page.Contents {
			seen = true
			name := strings.TrimPrefix(aws.ToString(o.Key), prefix)
			if name == "" {
				continue // the folder's own marker
			}
			out = append(out, Info{Name: name, Size: aws.ToInt64(o.Size), ModTime: aws.ToTime(o.LastModified)})
		}
		for _, cp := range page.CommonPrefixes {
			seen = true
			name := strings.TrimSuffix(strings.TrimPrefix(aws.ToString(cp.Prefix), prefix), "/")
			if name != "" {
				out = append(out, Info{Name: name, Dir: true})
			}
		}
	}
	if !seen && key != s.prefix {
		return nil, statusErr("list", dir, 404)
	}
	return out, nil
}

// Open implements Store.
func (s *S3) Open(ctx context.Context, p string) (io.ReadCloser, error) {
	key, err := s.key(p)
	if err != nil {
		return nil, err
	}
	if key == s.prefix {
		return nil, fmt.Errorf("%w: the root is a folder", ErrTarget)
	}
	out, err := s.c.GetObject(ctx, &s3.GetObjectInput{Bucket: &s.bucket, Key: &key})
	if err != nil {
		return nil, mapS3(ctx, "get", p, err)
	}
	return out.Body, nil
}

// Remove implements Store.
func (s *S3) Remove(ctx context.Context, p string) error {
	key, err := s.key(p)
	if err != nil {
		return err
	}
	if key == s.prefix {
		return fmt.Errorf("%w: the root cannot be removed", ErrTarget)
	}
	_, err = s.c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &s.bucket, Key: &key})
	return mapS3(ctx, "delete", p, err)
}

// maxCopy is the largest object one CopyObject can copy.
const maxCopy = 5 << 30

// Rename implements Store. S3 has no rename: the object is copied on the
// server (nothing goes through this machine) and the original deleted.
// Objects over 5 GiB, which CopyObject cannot copy, are refused.
func (s *S3) Rename(ctx context.Context, from, to string) error {
	src, err := s.key(from)
	if err != nil {
		return err
	}
	dst, err := s.key(to)
	if err != nil {
		return err
	}
	st, err := s.Stat(ctx, from)
	if err != nil {
		return err
	}
	if st.Dir {
		return fmt.Errorf("%w: %s is a folder; only files can be renamed", ErrTarget, from)
	}
	if st.Size > maxCopy {
		return fmt.Errorf("rename %s: S3 cannot copy objects over 5 GiB in one request", from)
	}
	source := s.bucket + "/" + url.PathEscape(src)
	source = strings.ReplaceAll(source, "%2F", "/")
	if _, err := s.c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: &s.bucket, Key: &dst, CopySource: &source}); err != nil {
		return mapS3(ctx, "copy", from, err)
	}
	_, err = s.c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &s.bucket, Key: &src})
	return mapS3(ctx, "delete", from, err)
}

// Mkdir implements Store: a zero-byte "p/" marker object.
func (s *S3) Mkdir(ctx context.Context, p string) error {
	key, err := s.key(p)
	if err != nil {
		return err
	}
	if key == s.prefix {
		return nil
	}
	marker := key + "/"
	_, err = s.c.PutObject(ctx, &s3.PutObjectInput{
		Bucket: &s.bucket, Key: &marker, Body: bytes.NewReader(nil), ContentLength: aws.Int64(0),
	})
	return mapS3(ctx, "mkdir", p, err)
}

// Put implements Store. size may be -1 when the length is not known.
func (s *S3) Put(ctx context.Context, p string, r io.Reader, size int64) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	key, err := s.key(p)
	if err != nil {
		return err
	}
	if key == s.prefix {
		return fmt.Errorf("%w: the root is a folder", ErrTarget)
	}
	partSize := partSizeFor(size, s.partSize)
	if size >= 0 && size <= partSize {
		buf := make([]byte, size+1)
		n, err := io.ReadFull(&ctxReader{ctx: ctx, r: r}, buf)
		if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
			return err
		}
		if int64(n) > size {
			return fmt.Errorf("put %s: more than the %d bytes announced arrived", p, size)
		}
		if int64(n) != size {
			return sizeErr(p, int64(n), size)
		}
		return s.putObject(ctx, p, key, buf[:n])
	}
	// Unknown length: a short first part is a small file after all.
	var first []byte
	if size < 0 {
		first = make([]byte, partSize)
		n, err := io.ReadFull(&ctxReader{ctx: ctx, r: r}, first)
		switch {
		case err == io.EOF || err == io.ErrUnexpectedEOF:
			return s.putObject(ctx, p, key, first[:n])
		case err != nil:
			return err
		}
	}
	return s.multipart(ctx, p, key, r, size, partSize, first)
}

// partSizeFor is the part size for an upload of size bytes: base, or for
// a size that would need more than 10,000 parts of base, the least whole
// number of MiB that needs no more. The same size always gets the same
// parts, so a later run can resume.
func partSizeFor(size, base int64) int64 {
	if size <= base*maxParts {
		return base
	}
	return (size/maxParts + 1<<20) >> 20 << 20
}

func (s *S3) putObject(ctx context.Context, p, key string, data []byte) error {
	sum := md5.Sum(data)
	_, err := s.c.PutObject(ctx, &s3.PutObjectInput{
		Bucket: &s.bucket, Key: &key, Body: bytes.NewReader(data),
		ContentLength: aws.Int64(int64(len(data))),
		ContentMD5:    aws.String(base64.StdEncoding.EncodeToString(sum[:])),
	})
	return mapS3(ctx, "put", p, err)
}

// multipart sends r as a multipart upload, resuming the latest unfinished
// upload of the same key if there is one. first, if not nil, is the first
// part, already read from r.
func (s *S3) multipart(ctx context.Context, p, key string, r io.Reader, size, partSize int64, first []byte) (err error) {
	var uploadID string
	var have map[int32]types.Part
	if !s.noResume {
		if uploadID, have, err = s.resumable(ctx, p, key); err != nil {
			return err
		}
	}
	if uploadID == "" {
		out, err := s.c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &s.bucket, Key: &key})
		if err != nil {
			return mapS3(ctx, "put", p, err)
		}
		uploadID = aws.ToString(out.UploadId)
	}
	defer func() {
		// Kept: success; a cancel with KeepPartial; and a failure worth
		// retrying (a lost connection, a server error), so that the retry
		// or the next run resumes from the parts already there. Aborted: a
		// cancel without KeepPartial, and refusals such as a wrong key.
		if err == nil || !s.noResume && (ctx.Err() != nil && s.keepPartial || ctx.Err() == nil && Temporary(err)) {
			return
		}
		// The caller's context may be done: abort on a context of our own.
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		_, _ = s.c.AbortMultipartUpload(actx, &s3.AbortMultipartUploadInput{Bucket: &s.bucket, Key: &key, UploadId: &uploadID})
	}()

	// wctx ends the reading and the parts in flight at the first failure,
	// which is its cause.
	wctx, fail := context.WithCancelCause(ctx)
	defer fail(nil)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		parts []types.CompletedPart
		total int64
	)
	// At most concurrency parts in flight and one being read.
	sem := make(chan struct{}, s.concurrency)
	free := make(chan []byte, s.concurrency+1)
	src := &ctxReader{ctx: wctx, r: r}
	for number := int32(1); ; number++ {
		if number > maxParts {
			fail(fmt.Errorf("put %s: more than %d parts of %d bytes", p, maxParts, partSize))
			break
		}
		var (
			buf  []byte
			n    int
			rerr error
		)
		if number == 1 && first != nil {
			buf, n = first, len(first)
		} else {
			select {
			case buf = <-free:
			default:
				buf = make([]byte, partSize)
			}
			n, rerr = io.ReadFull(src, buf)
			if rerr == io.EOF && number > 1 {
				break // the previous part was the last
			}
			if rerr != nil && rerr != io.ErrUnexpectedEOF && rerr != io.EOF {
				fail(rerr)
				break
			}
		}
		total += int64(n)
		data := buf[:n]
		// The MD5 is taken here only to compare with a part already on the
		// server; otherwise the part's goroutine takes it, while the next
		// part is read.
		var sum []byte
		reused := false
		if old, ok := have[number]; ok && aws.ToInt64(old.Size) == int64(n) {
			h := md5.Sum(data)
			sum = h[:]
			if strings.Trim(aws.ToString(old.ETag), `"`) == hex.EncodeToString(sum) {
				// Already on the server from an interrupted upload.
				mu.Lock()
				parts = append(parts, types.CompletedPart{PartNumber: aws.Int32(number), ETag: old.ETag})
				mu.Unlock()
				free <- buf
				reused = true
			}
		}
		if !reused {
			select {
			case sem <- struct{}{}:
			case <-wctx.Done():
			}
			if wctx.Err() != nil {
				break
			}
			wg.Add(1)
			go func(number int32, buf, data, sum []byte) {
				defer wg.Done()
				defer func() { free <- buf; <-sem }()
				if sum == nil {
					h := md5.Sum(data)
					sum = h[:]
				}
				out, err := s.c.UploadPart(wctx, &s3.UploadPartInput{
					Bucket: &s.bucket, Key: &key, UploadId: &uploadID, PartNumber: aws.Int32(number),
					Body: bytes.NewReader(data), ContentLength: aws.Int64(int64(len(data))),
					ContentMD5: aws.String(base64.StdEncoding.EncodeToString(sum)),
				})
				if err != nil {
					fail(err)
					return
				}
				mu.Lock()
				parts = append(parts, types.CompletedPart{PartNumber: aws.Int32(number), ETag: out.ETag})
				mu.Unlock()
			}(number, buf, data, sum)
		}
		if rerr != nil { // a short part: the end
			break
		}
	}
	wg.Wait()
	if err := context.Cause(wctx); err != nil {
		return mapS3(wctx, "put", p, err)
	}
	if size >= 0 && total != size {
		return sizeErr(p, total, size)
	}
	sort.Slice(parts, func(i, j int) bool { return *parts[i].PartNumber < *parts[j].PartNumber })
	_, err = s.c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
		Bucket: &s.bucket, Key: &key, UploadId: &uploadID,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts},
	})
	return mapS3(ctx, "put", p, err)
}

// resumable finds the latest unfinished multipart upload of key and the
// parts it already has, by part number.
func (s *S3) resumable(ctx context.Context, p, key string) (string, map[int32]types.Part, error) {
	var latest *types.MultipartUpload
	in := &s3.ListMultipartUploadsInput{Bucket: &s.bucket, Prefix: &key}
	for {
		out, err := s.c.ListMultipartUploads(ctx, in)
		if err != nil {
			return "", nil, mapS3(ctx, "put", p, err)
		}
		for i, u := range out.Uploads {
			if aws.ToString(u.Key) == key && (latest == nil || aws.ToTime(u.Initiated).After(aws.ToTime(latest.Initiated))) {
				latest = &out.Uploads[i]
			}
		}
		if !aws.ToBool(out.IsTruncated) || (out.NextKeyMarker == nil && out.NextUploadIdMarker == nil) {
			break
		}
		in.KeyMarker, in.UploadIdMarker = out.NextKeyMarker, out.NextUploadIdMarker
	}
	if latest == nil {
		return "", nil, nil
	}
	id := aws.ToString(latest.UploadId)
	have := map[int32]types.Part{}
	pages := s3.NewListPartsPaginator(s.c, &s3.ListPartsInput{Bucket: &s.bucket, Key: &key, UploadId: &id})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			if errors.Is(mapS3(ctx, "put", p, err), ErrNotFound) {
				return "", nil, nil // completed or aborted meanwhile: start afresh
			}
			return "", nil, mapS3(ctx, "put", p, err)
		}
		for _, part := range page.Parts {
			have[aws.ToInt32(part.PartNumber)] = part
		}
	}
	return id, have, nil
}

// mapS3 turns the SDK's errors into this package's: a cancelled or expired
// context as itself, S3 error codes and HTTP statuses as StatusErrors, and
// failures to reach the server as ErrNetwork.
func mapS3(ctx context.Context, op, p string, err error) error {
	if err == nil {
		return nil
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		if cause := context.Cause(ctx); cause != nil && cause != ctxErr {
			err = cause // multipart's own cancellation carries the first failure
		} else {
			return ctxErr
		}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	status := 0
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		status = re.HTTPStatusCode()
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		switch api.ErrorCode() {
		case "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken", "TokenRefreshRequired", "AuthorizationHeaderMalformed",
			"XAdminUserNotFound": // versitygw's answer (404) to an unknown access key
			return &StatusError{Op: op, Path: p, Status: orStatus(status, 403), Err: fmt.Errorf("%w: %s", ErrAuth, api.ErrorCode())}
		case "AccessDenied":
			return &StatusError{Op: op, Path: p, Status: orStatus(status, 403), Err: fmt.Errorf("%w: %s", ErrForbidden, api.ErrorCode())}
		case "NoSuchKey", "NoSuchBucket", "NoSuchUpload", "NotFound":
			return &StatusError{Op: op, Path: p, Status: orStatus(status, 404), Err: fmt.Errorf("%w: %s", ErrNotFound, api.ErrorCode())}
		case "EntityTooLarge":
			return &StatusError{Op: op, Path: p, Status: orStatus(status, 400), Err: fmt.Errorf("%w: %s", ErrTooLarge, api.ErrorCode())}
		case "QuotaExceeded":
			return &StatusError{Op: op, Path: p, Status: orStatus(status, 403), Err: fmt.Errorf("%w: %s", ErrQuota, api.ErrorCode())}
		}
	}
	if status != 0 {
		se := statusErr(op, p, status).(*StatusError)
		se.Err = fmt.Errorf("%w: %w", se.Err, err)
		return se
	}
	var send *smithyhttp.RequestSendError
	if errors.As(err, &send) {
		return &networkError{op: op, path: p, err: err}
	}
	return fmt.Errorf("%s %s: %w", op, p, err)
}

func orStatus(status, def int) int {
	if status == 0 {
		return def
	}
	return status
}
