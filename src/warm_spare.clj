;; A spare test JVM (see warm.rs), as a function of its socket's path and its idle time in
;; milliseconds: loads clojure.test, listens on the socket, and exits when the socket is
;; removed or the idle time passes. The first client's script (everything it sends) is
;; evaluated with all output going back to it; then the JVM exits, so it serves once.
(fn [sock idle-ms]
  (require 'clojure.test)
  (let [path (.toPath (java.io.File. ^String sock))
        server (java.nio.channels.ServerSocketChannel/open java.net.StandardProtocolFamily/UNIX)
        taken (atom false)
        started (System/currentTimeMillis)]
    (.bind server (java.net.UnixDomainSocketAddress/of path))
    (doto (Thread. (fn []
                     (loop []
                       (Thread/sleep 200)
                       (when-not @taken
                         (if (or (not (.exists (.toFile path)))
                                 (> (- (System/currentTimeMillis) started) idle-ms))
                           (do (when-not @taken
                                 (java.nio.file.Files/deleteIfExists path)
                                 (System/exit 0)))
                           (recur))))))
      (.setDaemon true)
      (.start))
    (let [ch (.accept server)]
      (reset! taken true)
      (java.nio.file.Files/deleteIfExists path)
      ;; Not slurp: closing the stream would close the channel, the client's end with it.
      (let [script (let [buf (java.io.ByteArrayOutputStream.)]
                     (.transferTo (java.nio.channels.Channels/newInputStream ch) buf)
                     (.toString buf "UTF-8"))
            os (java.io.PrintStream. (java.nio.channels.Channels/newOutputStream ch) true "UTF-8")
            w (java.io.PrintWriter. os true)]
        (System/setOut os)
        (System/setErr os)
        (.addShutdownHook (Runtime/getRuntime) (Thread. (fn [] (.flush w) (.flush os))))
        (try
          (binding [*out* w *err* w]
            (load-string script))
          (catch Throwable t
            (binding [*out* w] (println (str t)))
            (.flush w)
            (System/exit 1)))
        (.flush w)
        (System/exit 0)))))
