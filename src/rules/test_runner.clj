;; kbuild's clojure.test runner (clojure.test required first), evaluated in the test JVM as a function of the selectors
;; (`[selector '(args)]` pairs, as lein test takes them), the file to append one result map
;; per namespace to, and the namespaces. Each namespace runs as `lein test` runs it; its
;; output is captured so that it prints grouped, and what its tests did is kept per test.
(fn [selectors results-file nses]
 (let [var-fn (fn [f] (if (vector? f) (second f) f))
      selected? (fn [v] (some (fn [[f args]]
                                (apply (var-fn f) (merge (-> v meta :ns meta)
                                                         (assoc (meta v) :leiningen.test/var v))
                                       args))
                              selectors))
      now (fn [] (quot (System/nanoTime) 1000))
      trace (fn [t] (let [w (java.io.StringWriter.)]
                      (.printStackTrace ^Throwable t (java.io.PrintWriter. w))
                      (str w)))
      problem (fn [m text]
                (let [t (:actual m)
                      ex? (instance? Throwable t)]
                  {:error (= :error (:type m))
                   :message (str (or (:message m) (when ex? (.getMessage ^Throwable t)) ""))
                   :type (cond ex? (.getName (class t))
                               (= :fail (:type m)) "clojure.test/fail"
                               :else "clojure.test/error")
                   :text (if ex? (trace t) text)}))
      report clojure.test/report
      run-ns (fn [n]
               (let [out (java.io.StringWriter.)
                     cases (atom [])
                     current (atom nil)
                     outside (atom [])
                     start (now)
                     result (fn [m] (assoc m :ns (str n) :ran true :us (- (now) start) :out (str out)
                                           :cases @cases :problems @outside))]
                 (binding [*out* out
                           clojure.test/*test-out* out]
                   (if-not (reduce (fn [ok [f args]] (and ok (or (not (vector? f)) (apply (first f) n args))))
                                   true selectors)
                     {:ns (str n) :ran false}
                     (try
                       (require n)
                       (if-not (or (empty? selectors)
                                   (some (fn [[_ v]] (and (:test (meta v)) (selected? v))) (ns-publics n)))
                         {:ns (str n) :ran false}
                         (do
                           (when (seq selectors)
                             (doseq [v (vals (ns-interns n)) :when (not (selected? v))]
                               (alter-meta! v #(-> % (assoc :leiningen/skipped-test (:test %)) (dissoc :test)))))
                           (let [counts (binding [clojure.test/report
                                                  (fn [m]
                                                    (case (:type m)
                                                      :begin-test-var (do (reset! current (count @cases))
                                                                          (swap! cases conj {:name (str (:name (meta (:var m))))
                                                                                             :start (now) :problems []}))
                                                      :end-test-var (do (swap! cases update @current
                                                                               (fn [c] (-> c (assoc :us (- (now) (:start c))) (dissoc :start))))
                                                                        (reset! current nil))
                                                      nil)
                                                    (if (#{:fail :error} (:type m))
                                                      (let [w (java.io.StringWriter.)]
                                                        (binding [clojure.test/*test-out* w]
                                                          (when-let [v (first clojure.test/*testing-vars*)]
                                                            (clojure.test/with-test-out
                                                              (println)
                                                              (println "kbuild test :only" (str (ns-name (:ns (meta v))) "/" (:name (meta v))))))
                                                          (report m))
                                                        (let [text (str w)
                                                              p (problem m text)]
                                                          (.write out text)
                                                          (if-let [i @current]
                                                            (swap! cases update-in [i :problems] conj p)
                                                            (swap! outside conj p))))
                                                      (report m)))]
                                          (clojure.test/test-ns n))]
                             (result (select-keys counts [:test :pass :fail :error])))))
                       (catch Throwable t
                         (println)
                         (println "Testing" (str n))
                         (println)
                         (println "ERROR: cannot load" (str n) "-" (.getMessage t))
                         (swap! outside conj (problem {:type :error :actual t} ""))
                         (result {:test 0 :pass 0 :fail 0 :error 1})))))))]
  (with-open [w (clojure.java.io/writer results-file :append true)]
    (doseq [n nses]
      (let [r (run-ns n)]
        (binding [*print-length* nil *print-level* nil *print-meta* false *print-namespace-maps* false]
          (.write w (str (pr-str r) "\n")))
        (.flush w))))
  (shutdown-agents)
  (System/exit 0)))
